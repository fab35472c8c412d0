import { type CheckpointSigner, EventTypes, type LedgerEvent } from '@custody/core';
import { signOperatorPayload } from '@custody/core/ledger';
import type { CheckContext } from './conformance-harness.js';

/** The tenant of every event the suite's `EventFactory` writes. */
export const TENANT = 'tenant-a';

/** The operator stream of `tenant`: where holds and prune records live. */
export function operatorStream(tenant = TENANT): string {
  return `operator:${tenant}`;
}

/** Options of the record helpers: who signs (nobody: an unsigned record), and what to get wrong. */
export interface RecordOptions {
  /** Signs the record as core's `createLedger` would; without it the record is unsigned. */
  readonly signer?: CheckpointSigner;
  /** The tenant whose operator stream the record goes to (default the events' tenant). */
  readonly tenant?: string;
  /** Puts the record in another stream than the one the API writes it to. */
  readonly stream?: string;
}

async function sign(
  type: string,
  stream: string,
  tenant: string,
  runId: string | null,
  payload: Record<string, unknown>,
  signer: CheckpointSigner | undefined,
): Promise<Record<string, unknown>> {
  return signer ? signOperatorPayload(signer, { type, stream, tenant, runId }, payload) : payload;
}

/**
 * Appends (through `store.append`) a `ledger.pruned` record naming each of `heads` as its stream's
 * final head, the way core's `createLedger().prune` writes it: into `operator:<tenant>`. This is
 * what a store's `deleteStreams` looks for; only its signature (given a signer) proves authority.
 */
export async function appendPruneRecord(
  c: CheckContext,
  heads: readonly LedgerEvent[],
  options: RecordOptions = {},
): Promise<LedgerEvent> {
  const tenant = options.tenant ?? TENANT;
  const stream = options.stream ?? operatorStream(tenant);
  const streams = heads.map((head) => ({
    stream: head.stream,
    seq: head.seq,
    hash: head.hash,
    events: head.seq + 1,
    heads: [{ seq: head.seq, hash: head.hash }],
  }));
  const payload = await sign(
    EventTypes.pruned,
    stream,
    tenant,
    null,
    { before: '2030-02-01T00:00:00.000Z', streams, reason: 'conformance', requestedBy: 'service:retention' },
    options.signer,
  );
  const record = c.events.next(stream, {
    type: EventTypes.pruned,
    runId: null,
    tenant,
    actor: 'service:retention',
    payload,
  });
  await c.ledger.append([record]);
  return record;
}

/**
 * Appends a `ledger.redacted` record for `target` the way core's `createLedger().redact` writes it:
 * later in `target`'s own stream, naming its id and payload hash. `payloadHash` overrides the
 * hash it names (to forge a mismatch).
 */
export async function appendRedactionRecord(
  c: CheckContext,
  target: LedgerEvent,
  options: RecordOptions & { readonly payloadHash?: string } = {},
): Promise<LedgerEvent> {
  const stream = options.stream ?? target.stream;
  const runId = options.stream === undefined ? target.runId : options.stream;
  const payload = await sign(
    EventTypes.redacted,
    stream,
    target.tenant,
    runId,
    {
      eventId: target.id,
      eventType: target.type,
      payloadHash: options.payloadHash ?? target.payloadHash,
      reason: 'erasure request #42',
      requestedBy: 'user:dpo@example.com',
    },
    options.signer,
  );
  const record = c.events.next(stream, {
    type: EventTypes.redacted,
    runId,
    tenant: target.tenant,
    actor: 'user:dpo@example.com',
    payload,
  });
  await c.ledger.append([record]);
  return record;
}

/** Appends a `ledger.hold_placed` or `ledger.hold_released` event for a run (or, with null, the tenant). */
export async function appendHold(
  c: CheckContext,
  change: 'placed' | 'released',
  runId: string | null,
  tenant = TENANT,
): Promise<LedgerEvent> {
  const event = c.events.next(operatorStream(tenant), {
    type: change === 'placed' ? EventTypes.holdPlaced : EventTypes.holdReleased,
    runId: null,
    tenant,
    actor: 'user:counsel@example.com',
    payload: { runId, reason: 'conformance: litigation hold', requestedBy: 'user:counsel@example.com' },
  });
  await c.ledger.append([event]);
  return event;
}
