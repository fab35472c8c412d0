import { generateKeyPairSync } from 'node:crypto';
import {
  type ChainHead,
  type CheckpointKeys,
  type CheckpointSigner,
  createEd25519Signer,
  type LedgerEvent,
  type LedgerStore,
} from '@custody/core';
import { type EventDraft, sealEvent, signOperatorPayload } from '@custody/core/ledger';

/*
 * Fixtures for an adapter's own tests of its deletion and erasure guards: events, operator keys,
 * and operator records written straight to a store the way core's `createLedger` writes them, or
 * forged the ways an attacker with write access would. The conformance suite has its own, bound
 * to its harness; these take a plain `LedgerStore`.
 */

/** An Ed25519 operator key: the signer createLedger is given and the public keys verification trusts. */
export function operatorKey(keyId = 'operator-key'): { signer: CheckpointSigner; keys: CheckpointKeys } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  return { signer: createEd25519Signer({ keyId, privateKey }), keys: { [keyId]: publicKey } };
}

let clock = 0;

/** Seals `count` events of one run (its stream is the run id), the last a `run.ended`, starting after `prev`. */
export function runEvents(
  stream: string,
  count: number,
  options: { tenant?: string; prev?: ChainHead; payload?: (index: number) => unknown } = {},
): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let prev = options.prev;
  for (let i = 0; i < count; i++) {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date(Date.UTC(2030, 0, 1) + clock++).toISOString(),
        type: i === count - 1 ? 'run.ended' : 'tool.result',
        tenant: options.tenant ?? 'tenant-a',
        actor: 'agent:test@1.0.0',
        payload: options.payload ? options.payload(i) : { i },
      },
      prev,
    );
    events.push(event);
    prev = { seq: event.seq, hash: event.hash };
  }
  return events;
}

/** The next event of `stream` after `prev` (undefined: its first), for records written by hand. */
export function nextEvent(prev: ChainHead | undefined, draft: Omit<EventDraft, 'ts'>): LedgerEvent {
  return sealEvent({ ...draft, ts: new Date(Date.UTC(2030, 0, 1) + clock++).toISOString() }, prev);
}

/** What a `ledger.pruned` record lists for a run about to be deleted: its current head. */
export function prunedEntry(events: readonly LedgerEvent[]): Record<string, unknown> {
  const head = events.at(-1)!;
  return {
    stream: head.stream,
    seq: head.seq,
    hash: head.hash,
    events: events.length,
    heads: [{ seq: head.seq, hash: head.hash }],
  };
}

/**
 * A `ledger.pruned` record as anyone who can append could write it: in `operator:<tenant>`, naming
 * each run's current head, with no signature (`authority`). `envelope` moves it elsewhere or
 * changes its type; `entries` replaces what it lists.
 */
export function forgedPruneRecord(
  tenant: string,
  runs: readonly (readonly LedgerEvent[])[],
  prev: ChainHead | undefined,
  options: { envelope?: Partial<Omit<EventDraft, 'ts' | 'payload'>>; entries?: unknown[] } = {},
): LedgerEvent {
  return nextEvent(prev, {
    stream: `operator:${tenant}`,
    runId: null,
    traceId: null,
    spanId: null,
    type: 'ledger.pruned',
    tenant,
    actor: 'user:mallory',
    ...options.envelope,
    payload: {
      before: '2031-01-01T00:00:00.000Z',
      streams: options.entries ?? runs.map(prunedEntry),
      reason: 'forged',
      requestedBy: 'user:mallory',
    },
  });
}

/** `record` again, its payload signed by `signer` (an operator key or an attacker's own). */
export async function signedAgain(
  record: LedgerEvent,
  prev: ChainHead | undefined,
  signer: CheckpointSigner,
): Promise<LedgerEvent> {
  const { stream, runId, traceId, spanId, type, tenant, actor } = record;
  const payload = await signOperatorPayload(signer, record, record.payload as Record<string, unknown>);
  return nextEvent(prev, { stream, runId, traceId, spanId, type, tenant, actor, payload });
}

/** A `ledger.redacted` record for `target`, appended after `prev` in its stream, unsigned. */
export function forgedRedactionRecord(
  target: LedgerEvent,
  prev: ChainHead,
  overrides: Record<string, unknown> = {},
  envelope: Partial<Omit<EventDraft, 'ts' | 'payload'>> = {},
): LedgerEvent {
  return nextEvent(prev, {
    stream: target.stream,
    runId: target.runId,
    traceId: null,
    spanId: null,
    type: 'ledger.redacted',
    tenant: target.tenant,
    actor: 'user:mallory',
    ...envelope,
    payload: {
      eventId: target.id,
      eventType: target.type,
      payloadHash: target.payloadHash,
      reason: 'forged',
      requestedBy: 'user:mallory',
      ...overrides,
    },
  });
}

/** A `ledger.hold_placed` / `ledger.hold_released` event in `operator:<tenant>`, as `createLedger().hold` writes it. */
export function holdEvent(
  type: 'ledger.hold_placed' | 'ledger.hold_released',
  tenant: string,
  runId: string | null,
  prev: ChainHead | undefined,
): LedgerEvent {
  return nextEvent(prev, {
    stream: `operator:${tenant}`,
    runId: null,
    traceId: null,
    spanId: null,
    type,
    tenant,
    actor: 'user:counsel',
    payload: { runId, reason: 'litigation', requestedBy: 'user:counsel' },
  });
}

/**
 * Appends, after the current head of `operator:<tenant>`, the unsigned `ledger.pruned` record the
 * store requires before it deletes `runs` (the store checks where it sits and which heads it
 * names; verification checks its signature).
 */
export async function recordPrune(
  store: LedgerStore,
  tenant: string,
  runs: readonly (readonly LedgerEvent[])[],
): Promise<LedgerEvent> {
  const record = forgedPruneRecord(tenant, runs, await store.head(`operator:${tenant}`));
  await store.append([record]);
  return record;
}

/** Appends, after the current head of its stream, the unsigned `ledger.redacted` record the store requires to erase `target`. */
export async function recordRedaction(store: LedgerStore, target: LedgerEvent): Promise<LedgerEvent> {
  const record = forgedRedactionRecord(target, (await store.head(target.stream))!);
  await store.append([record]);
  return record;
}

/** Appends a hold event after the current head of `operator:<tenant>`. */
export async function recordHold(
  store: LedgerStore,
  type: 'ledger.hold_placed' | 'ledger.hold_released',
  tenant: string,
  runId: string | null,
): Promise<LedgerEvent> {
  const event = holdEvent(type, tenant, runId, await store.head(`operator:${tenant}`));
  await store.append([event]);
  return event;
}
