import type { ChainHead, LedgerEvent } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';

let clock = Date.UTC(2025, 0, 1);

/** A sealed event for `stream` after `prev`, with a small payload unless one is given. */
export function makeEvent(
  stream: string,
  prev: ChainHead | undefined,
  payload: unknown = { n: prev ? prev.seq + 1 : 0 },
  fields: { type?: string; tenant?: string; actor?: string; runId?: string | null; ts?: string } = {},
): LedgerEvent {
  clock += 1;
  return sealEvent(
    {
      stream,
      runId: fields.runId === undefined ? stream : fields.runId,
      traceId: '0af7651916cd43dd8448eb211c80319c',
      spanId: 'b7ad6b7169203331',
      ts: fields.ts ?? new Date(clock).toISOString(),
      type: fields.type ?? 'tool.result',
      tenant: fields.tenant ?? 'acme',
      actor: fields.actor ?? 'agent:triage@1.0.0',
      payload,
    },
    prev,
  );
}

/** `count` chained events continuing `stream` from `prev`. */
export function makeChain(
  stream: string,
  count: number,
  prev?: ChainHead,
  payload?: (i: number) => unknown,
): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let head = prev;
  for (let i = 0; i < count; i++) {
    const event = makeEvent(stream, head, payload?.(i));
    events.push(event);
    head = { seq: event.seq, hash: event.hash };
  }
  return events;
}

/** The head after `events`. */
export function headOf(events: readonly LedgerEvent[]): ChainHead {
  const last = events[events.length - 1]!;
  return { seq: last.seq, hash: last.hash };
}
