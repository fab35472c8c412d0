import type { Clock } from '../clock.js';
import { CustodyError } from '../errors.js';
import type { EventType, LedgerEvent } from '../ledger/event.js';
import type { Redactor } from '../ledger/redaction-policy.js';
import type { LedgerStore } from '../stores/ledger-store.js';
import { EventRecorder } from './event-recorder.js';

/** One event to add to a shared stream (an operator stream, or a finished run's). */
export interface StreamAppend {
  readonly stream: string;
  readonly tenant: string;
  readonly runId: string | null;
  readonly actor: string;
  readonly type: EventType;
  readonly payload: Record<string, unknown>;
}

const MAX_ATTEMPTS = 5;

/**
 * Appends one event to a stream that several writers share (every runtime and operator tool
 * writes `operator:<tenant>`): reads the head, seals, appends, and on a conflict — another writer
 * got there first — reads the new head and tries again. Nothing is cached between calls, so two
 * writers in one process never hold a stale head.
 */
export async function appendToSharedStream(
  store: LedgerStore,
  entry: StreamAppend,
  clock: Clock,
  redact?: Redactor,
): Promise<LedgerEvent> {
  for (let attempt = 1; ; attempt++) {
    const recorder = new EventRecorder({
      stores: { ledger: store },
      identity: {
        stream: entry.stream,
        runId: entry.runId,
        traceId: null,
        tenant: entry.tenant,
        actor: entry.actor,
      },
      now: () => clock.now(),
      head: await store.head(entry.stream),
      redact,
    });
    const event = recorder.record(entry.type, entry.payload, null);
    try {
      await recorder.flush();
      return event;
    } catch (error) {
      const conflict =
        CustodyError.isInstance(error) &&
        CustodyError.isInstance(error.cause) &&
        error.cause.code === 'CUSTODY_LEDGER_CONFLICT';
      if (!conflict || attempt >= MAX_ATTEMPTS) throw error;
    }
  }
}
