import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';
import { CustodyError, describeValue, invalidArgument } from '../errors.js';
import {
  checkpointCount,
  checkpointRoot,
  createCheckpoint,
  type LedgerCheckpoint,
  signCheckpoint,
} from '../ledger/checkpoint.js';
import type { CheckpointSigner } from '../ledger/checkpoint-signer.js';
import { holdsInForce, isHeld } from '../ledger/deletion-guards.js';
import { type ChainHead, EventTypes, type LedgerEvent } from '../ledger/event.js';
import { csvLines, jsonlLines } from '../ledger/ledger-export.js';
import type { LedgerVerifyOptions } from '../ledger/ledger-verify-options.js';
import { signOperatorPayload } from '../ledger/operator-record.js';
import { type PrunedStream, prunedStream } from '../ledger/pruned-stream.js';
import { type LedgerVerification, verifyLedger } from '../ledger/verify.js';
import { appendToSharedStream } from '../recording/stream-writer.js';
import { type LedgerQuery, type LedgerStore, readAll } from '../stores/ledger-store.js';

/** Options of {@link createLedger}. */
export interface LedgerOptions {
  store: LedgerStore;
  /** Signs checkpoints. Without one, checkpoints are unsigned (they still catch truncation, not forgery). */
  signer?: CheckpointSigner;
  /**
   * Signs the operator records `prune` and `redact` write (`ledger.pruned`, `ledger.redacted`):
   * verification honours a deletion or an erasure only with a record signed by a trusted operator
   * key. Defaults to `signer`; without either, `prune` and `redact` refuse.
   */
  operatorSigner?: CheckpointSigner;
  clock?: Clock;
}

/** Who asked for an operator action on the ledger, and why. Both are recorded. */
export interface LedgerActionRequest {
  readonly requestedBy: string;
  readonly reason: string;
}

/**
 * Operator-side access to a ledger store: verification, checkpoints, redaction and exports.
 * Every change it makes (a redaction, an export) is itself recorded as an event.
 */
export interface Ledger {
  readonly store: LedgerStore;
  /** Reads every event that matches. */
  query(query?: LedgerQuery): Promise<LedgerEvent[]>;
  /**
   * Commits to the current heads of every stream, signs the commitment when a signer is set, and
   * stores it beside the events when the store can.
   */
  checkpoint(): Promise<LedgerCheckpoint>;
  /**
   * Takes a checkpoint every `everyMs` milliseconds until stopped (or `signal` aborts). Failures go
   * to `onError` and the schedule carries on. The timer does not keep the process alive.
   */
  scheduleCheckpoints(options: {
    everyMs: number;
    onError?: (error: unknown) => void;
    signal?: AbortSignal;
  }): { stop(): void };
  /** Every stored checkpoint (none when the store cannot keep them). */
  checkpoints(): Promise<LedgerCheckpoint[]>;
  /**
   * Verifies everything (or one run) against the stored checkpoints, any `anchorCheckpoints` and,
   * given keys, their signatures and those of the operator records. Reports the events no
   * checkpoint covers.
   */
  verify(options?: LedgerVerifyOptions): Promise<LedgerVerification>;
  /**
   * Erases one event's payload and salt (for an erasure request), after recording a signed
   * `ledger.redacted` event in the same stream that says who asked and why. Verification still
   * passes and reports the redaction. Only finished runs can be redacted; a run or tenant under
   * legal hold cannot (`CUSTODY_LEGAL_HOLD`), nor can holds and operator records themselves.
   */
  redact(eventId: string, request: LedgerActionRequest): Promise<LedgerEvent>;
  /**
   * Exports matching events (and the stored checkpoints) as JSONL or CSV lines, after recording a
   * `ledger.exported` event. Lines come without trailing newlines.
   */
  export(
    options: { format: 'jsonl' | 'csv'; query?: LedgerQuery } & LedgerActionRequest,
  ): Promise<ExportResult>;
  /**
   * Places a legal hold on a tenant, or on one run of it: nothing held can be pruned until the
   * hold is released. Recorded as `ledger.hold_placed`.
   */
  hold(target: { tenant: string; runId?: string } & LedgerActionRequest): Promise<LedgerEvent>;
  /** Releases a hold placed with the same tenant and run. Recorded as `ledger.hold_released`. */
  releaseHold(target: { tenant: string; runId?: string } & LedgerActionRequest): Promise<LedgerEvent>;
  /** The holds in force for a tenant. */
  holds(tenant: string): Promise<{ tenant: string; runId: string | null }[]>;
  /**
   * Retention: deletes the finished runs of a tenant whose every event is older than `before`
   * (ISO 8601), except held ones. First checks each one's chain and records a signed
   * `ledger.pruned` event naming each deleted run, its final head and every head a stored
   * checkpoint pins, so earlier checkpoints still verify. Throws `CUSTODY_LEGAL_HOLD` when the
   * whole tenant is held.
   */
  prune(
    options: { tenant: string; before: string } & LedgerActionRequest,
  ): Promise<{ runs: number; events: number }>;
}

/** Events `redact` refuses: what verification checks holds, deletions and erasures against. */
const UNREDACTABLE: ReadonlySet<string> = new Set([
  EventTypes.redacted,
  EventTypes.pruned,
  EventTypes.holdPlaced,
  EventTypes.holdReleased,
]);

/** An export in progress: its lines and how many events it holds. */
export interface ExportResult {
  readonly lines: Iterable<string>;
  readonly events: number;
}

/**
 * Creates the operator-side view of a ledger store.
 *
 * @example
 * ```ts
 * const ledger = createLedger({ store: stores.ledger, signer });
 * await ledger.checkpoint();
 * const result = await ledger.verify({ keys: { [signer.keyId]: publicKeyPem } });
 * ```
 */
export function createLedger(options: LedgerOptions): Ledger {
  const store = options?.store;
  if (typeof store?.append !== 'function' || typeof store.read !== 'function') {
    throw invalidArgument(`createLedger needs a ledger store, got ${describeValue(store)}`);
  }
  const clock = options.clock ?? systemClock;

  async function allHeads(): Promise<Record<string, ChainHead>> {
    if (store.heads) return store.heads();
    return createCheckpoint(await readAll(store)).heads;
  }

  function appendOperatorEvent(
    stream: string,
    tenant: string,
    runId: string | null,
    type: string,
    payload: Record<string, unknown>,
    actor: string,
  ): Promise<LedgerEvent> {
    return appendToSharedStream(store, { stream, tenant, runId, actor, type, payload }, clock);
  }

  function assertRequest(request: LedgerActionRequest, what: string): void {
    if (typeof request?.requestedBy !== 'string' || request.requestedBy === '') {
      throw invalidArgument(`${what} needs requestedBy: who asked for it (e.g. "user:dpo@acme.com")`);
    }
    if (typeof request.reason !== 'string' || request.reason.trim() === '') {
      throw invalidArgument(`${what} needs a reason: it is recorded in the ledger`);
    }
  }

  async function activeHolds(tenant: string): Promise<{ tenant: string; runId: string | null }[]> {
    const holds = holdsInForce(await operatorStream(tenant));
    return [
      ...(holds.tenant ? [{ tenant, runId: null }] : []),
      ...[...holds.runIds].map((runId) => ({ tenant, runId })),
    ];
  }

  function operatorStream(tenant: string): Promise<LedgerEvent[]> {
    return readAll(store, { stream: `operator:${tenant}` });
  }

  function requireOperatorSigner(what: string): CheckpointSigner {
    const signer = options.operatorSigner ?? options.signer;
    if (!signer) {
      throw invalidArgument(
        `${what} needs an operator signer, so its record carries the authority verification checks: pass \`operatorSigner\` or \`signer\` to createLedger`,
      );
    }
    return signer;
  }

  async function appendSignedRecord(
    entry: { stream: string; tenant: string; runId: string | null; type: string },
    payload: Record<string, unknown>,
    signer: CheckpointSigner,
    actor: string,
  ): Promise<LedgerEvent> {
    const signed = await signOperatorPayload(signer, entry, payload);
    return appendOperatorEvent(entry.stream, entry.tenant, entry.runId, entry.type, signed, actor);
  }

  function assertTenant(tenant: unknown, what: string): asserts tenant is string {
    if (typeof tenant !== 'string' || tenant === '' || tenant === '*') {
      throw invalidArgument(`${what} needs the tenant it applies to, got ${describeValue(tenant)}`);
    }
  }

  async function changeHold(
    type: typeof EventTypes.holdPlaced | typeof EventTypes.holdReleased,
    target: { tenant: string; runId?: string } & LedgerActionRequest,
  ): Promise<LedgerEvent> {
    const what = type === EventTypes.holdPlaced ? 'hold' : 'releaseHold';
    assertTenant(target?.tenant, what);
    assertRequest(target, what);
    const held = (await activeHolds(target.tenant)).some((hold) => hold.runId === (target.runId ?? null));
    if (type === EventTypes.holdReleased && !held) {
      throw invalidArgument(
        `no hold on ${target.runId ? `run ${target.runId} of ` : ''}tenant ${target.tenant} to release`,
      );
    }
    return appendOperatorEvent(
      `operator:${target.tenant}`,
      target.tenant,
      null,
      type,
      { runId: target.runId ?? null, reason: target.reason, requestedBy: target.requestedBy },
      target.requestedBy,
    );
  }

  return {
    store,
    query: (query = {}) => readAll(store, query),
    hold: (target) => changeHold(EventTypes.holdPlaced, target),
    releaseHold: (target) => changeHold(EventTypes.holdReleased, target),
    holds: (tenant) => activeHolds(tenant),

    async prune(pruneOptions) {
      assertTenant(pruneOptions?.tenant, 'prune');
      assertRequest(pruneOptions, 'prune');
      const { tenant, before } = pruneOptions;
      if (typeof before !== 'string' || Number.isNaN(Date.parse(before))) {
        throw invalidArgument(`prune needs "before" as an ISO 8601 time, got ${describeValue(before)}`);
      }
      const signer = requireOperatorSigner('prune');
      if (!store.deleteStreams) {
        throw new CustodyError(
          'CUSTODY_STORE_ERROR',
          'this ledger store cannot delete streams, so it cannot prune',
        );
      }
      const holds = holdsInForce(await operatorStream(tenant));
      if (holds.tenant) {
        throw new CustodyError(
          'CUSTODY_LEGAL_HOLD',
          `tenant ${tenant} is under legal hold: nothing of it can be pruned`,
          {
            details: { tenant },
          },
        );
      }
      const cutoff = new Date(Date.parse(before)).toISOString();
      const byStream = new Map<string, LedgerEvent[]>();
      for (const event of await readAll(store, { tenant })) {
        if (event.runId === null) continue;
        let list = byStream.get(event.stream);
        if (!list) {
          list = [];
          byStream.set(event.stream, list);
        }
        list.push(event);
      }
      const checkpoints = store.listCheckpoints ? await store.listCheckpoints() : [];
      const doomed: PrunedStream[] = [];
      for (const list of byStream.values()) {
        const last = list.at(-1)!;
        const finished = list.some((event) => event.type === EventTypes.runEnded);
        if (!finished || last.ts >= cutoff || isHeld(holds, last.runId)) continue;
        doomed.push(prunedStream(list, checkpoints));
      }
      if (doomed.length === 0) return { runs: 0, events: 0 };
      await appendSignedRecord(
        { stream: `operator:${tenant}`, tenant, runId: null, type: EventTypes.pruned },
        {
          before: cutoff,
          streams: doomed,
          reason: pruneOptions.reason,
          requestedBy: pruneOptions.requestedBy,
        },
        signer,
        pruneOptions.requestedBy,
      );
      const events = await store.deleteStreams(doomed.map((entry) => entry.stream));
      return { runs: doomed.length, events };
    },

    async checkpoint() {
      const heads = await allHeads();
      const unsigned: LedgerCheckpoint = {
        schemaVersion: 1,
        createdAt: new Date(clock.now()).toISOString(),
        count: checkpointCount(heads),
        heads,
        root: checkpointRoot(heads),
      };
      const checkpoint = options.signer ? await signCheckpoint(unsigned, options.signer) : unsigned;
      await store.appendCheckpoint?.(checkpoint);
      return checkpoint;
    },

    checkpoints: async () => (store.listCheckpoints ? store.listCheckpoints() : []),

    scheduleCheckpoints(schedule) {
      const everyMs = schedule?.everyMs;
      if (typeof everyMs !== 'number' || !Number.isFinite(everyMs) || everyMs < 1000) {
        throw invalidArgument(
          `scheduleCheckpoints needs everyMs of at least 1000, got ${describeValue(everyMs)}`,
        );
      }
      let running = false;
      const timer = setInterval(() => {
        // One at a time: a slow store never piles checkpoints up.
        if (running) return;
        running = true;
        this.checkpoint()
          .catch((error) => schedule.onError?.(error))
          .finally(() => {
            running = false;
          });
      }, everyMs);
      timer.unref?.();
      const stop = () => clearInterval(timer);
      schedule.signal?.addEventListener('abort', stop, { once: true });
      return { stop };
    },

    async verify(verifyOptions = {}) {
      const { runId, keys, operatorKeys, anchorCheckpoints, requireCovered } = verifyOptions;
      const events = await readAll(store, runId ? { runId } : {});
      const checkpoints = store.listCheckpoints ? await store.listCheckpoints() : [];
      return verifyLedger(events, {
        checkpoints,
        ...(keys ? { keys } : {}),
        ...(operatorKeys ? { operatorKeys } : {}),
        ...(anchorCheckpoints ? { anchorCheckpoints } : {}),
        ...(requireCovered ? { requireCovered } : {}),
        ...(runId ? { streams: [runId] } : {}),
      });
    },

    async redact(eventId, request) {
      assertRequest(request, 'redact');
      const signer = requireOperatorSigner('redact');
      if (!store.erasePayload) {
        throw new CustodyError(
          'CUSTODY_STORE_ERROR',
          'this ledger store cannot erase payloads, so it cannot redact',
        );
      }
      const split = typeof eventId === 'string' ? eventId.lastIndexOf(':') : -1;
      if (split <= 0)
        throw invalidArgument(`redact needs an event id like "run_…:12", got ${describeValue(eventId)}`);
      const stream = eventId.slice(0, split);
      const events = await readAll(store, { stream });
      const target = events.find((event) => event.id === eventId);
      if (!target) throw invalidArgument(`no event with id "${eventId}" in the ledger`);
      if (target.payload === null) throw invalidArgument(`event "${eventId}" is already redacted`);
      if (UNREDACTABLE.has(target.type)) {
        throw invalidArgument(
          `event "${eventId}" is a ${target.type} record, which cannot be redacted: holds and operator records are what verification checks deletions against`,
        );
      }
      const last = events.at(-1)!;
      if (target.runId !== null && last.type !== EventTypes.runEnded && last.type !== EventTypes.redacted) {
        throw invalidArgument(
          `run ${target.runId} has not ended; redact its events once it has (its writer still extends the stream)`,
        );
      }
      const holds = holdsInForce(await operatorStream(target.tenant));
      if (isHeld(holds, target.runId)) {
        const held = holds.tenant
          ? `tenant ${target.tenant}`
          : `run ${target.runId} of tenant ${target.tenant}`;
        throw new CustodyError(
          'CUSTODY_LEGAL_HOLD',
          `event "${eventId}" cannot be redacted: ${held} is under legal hold; release the hold first`,
          { details: { eventId, tenant: target.tenant, runId: target.runId } },
        );
      }
      const record = await appendSignedRecord(
        { stream, tenant: target.tenant, runId: target.runId, type: EventTypes.redacted },
        {
          eventId,
          eventType: target.type,
          payloadHash: target.payloadHash,
          reason: request.reason,
          requestedBy: request.requestedBy,
        },
        signer,
        request.requestedBy,
      );
      await store.erasePayload(eventId);
      return record;
    },

    async export(exportOptions) {
      const { format, query = {} } = exportOptions;
      if (format !== 'jsonl' && format !== 'csv') {
        throw invalidArgument(`export format must be "jsonl" or "csv", got ${describeValue(format)}`);
      }
      assertRequest(exportOptions, 'export');
      const events = await readAll(store, query);
      const checkpoints = store.listCheckpoints ? await store.listCheckpoints() : [];
      await appendOperatorEvent(
        `operator:${query.tenant ?? '*'}`,
        query.tenant ?? '*',
        null,
        EventTypes.exported,
        {
          format,
          query: { ...query },
          events: events.length,
          requestedBy: exportOptions.requestedBy,
          reason: exportOptions.reason,
        },
        exportOptions.requestedBy,
      );
      const exportedAt = new Date(clock.now()).toISOString();
      return {
        events: events.length,
        lines:
          format === 'jsonl'
            ? jsonlLines(
                { format: 'custody-ledger', version: 1, exportedAt, query: { ...query } },
                events,
                checkpoints,
              )
            : csvLines(events),
      };
    },
  };
}
