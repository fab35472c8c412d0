import { describe, expect, it } from 'vitest';
import { sealEvent } from '../ledger/chain.js';
import { checkPayloadErasure, checkStreamDeletion, holdsInForce } from '../ledger/deletion-guards.js';
import type { LedgerEvent } from '../ledger/event.js';
import { InMemoryLedgerStore } from './memory-ledger-store.js';

function append(
  store: InMemoryLedgerStore,
  stream: string,
  type: string,
  payload: Record<string, unknown>,
  runId: string | null = stream,
): LedgerEvent {
  const last = store
    .all()
    .filter((event) => event.stream === stream)
    .at(-1);
  const event = sealEvent(
    {
      stream,
      runId,
      traceId: null,
      spanId: null,
      ts: '2026-01-01T00:00:00.000Z',
      type,
      tenant: 'acme',
      actor: 'user:ops',
      payload,
    },
    last && { seq: last.seq, hash: last.hash },
  );
  store.appendSync([event]);
  return event;
}

const hold = (store: InMemoryLedgerStore, type: 'placed' | 'released', runId: string | null) =>
  append(store, 'operator:acme', `ledger.hold_${type}`, { runId, reason: 'r', requestedBy: 'user:c' }, null);

const pruneRecord = (store: InMemoryLedgerStore, heads: LedgerEvent[]) =>
  append(
    store,
    'operator:acme',
    'ledger.pruned',
    { streams: heads.map((head) => ({ stream: head.stream, seq: head.seq, hash: head.hash, events: 1 })) },
    null,
  );

describe('holdsInForce', () => {
  it('lets the latest hold event of each run, and of the tenant, decide', () => {
    const store = new InMemoryLedgerStore();
    hold(store, 'placed', 'run_a');
    hold(store, 'placed', null);
    hold(store, 'released', 'run_a');
    hold(store, 'placed', 'run_b');
    hold(store, 'released', null);
    hold(store, 'placed', 'run_a');
    const holds = holdsInForce(store.all());
    expect(holds.tenant).toBe(false);
    expect([...holds.runIds].sort()).toEqual(['run_a', 'run_b']);
  });
});

describe('the memory store guards deleteStreams and erasePayload', () => {
  it('refuses to delete a stream no ledger.pruned record names at its current head', async () => {
    const store = new InMemoryLedgerStore();
    const first = append(store, 'run_a', 'run.started', {});
    pruneRecord(store, [first]);
    append(store, 'run_a', 'run.ended', {});
    const error = checkStreamDeletion(
      store.all().filter((event) => event.stream === 'run_a'),
      store.all().filter((event) => event.stream === 'operator:acme'),
    );
    expect(error).toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message:
        '[custody] no ledger.pruned record names stream run_a at its head seq 1; prune through createLedger().prune',
    });
    await expect(store.deleteStreams(['run_a'])).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
    expect(store.size).toBe(3);
  });

  it('refuses the whole call when one stream is held, and deletes nothing', async () => {
    const store = new InMemoryLedgerStore();
    const a = append(store, 'run_a', 'run.ended', {});
    const b = append(store, 'run_b', 'run.ended', {});
    pruneRecord(store, [a, b]);
    hold(store, 'placed', 'run_b');
    await expect(store.deleteStreams(['run_a', 'run_b'])).rejects.toMatchObject({
      code: 'CUSTODY_LEGAL_HOLD',
      message: expect.stringContaining('run run_b of tenant acme is under legal hold'),
    });
    expect(store.size).toBe(4);
    hold(store, 'released', 'run_b');
    hold(store, 'placed', null);
    await expect(store.deleteStreams(['run_a'])).rejects.toMatchObject({
      code: 'CUSTODY_LEGAL_HOLD',
      message: expect.stringContaining('tenant acme is under legal hold'),
    });
    hold(store, 'released', null);
    expect(await store.deleteStreams(['run_a', 'run_b'])).toBe(2);
  });

  it('never deletes an operator stream: no record can name its own head', async () => {
    const store = new InMemoryLedgerStore();
    hold(store, 'placed', 'run_x');
    await expect(store.deleteStreams(['operator:acme'])).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
    });
  });

  it('refuses to erase without a later redaction record naming the event and its payload hash', async () => {
    const store = new InMemoryLedgerStore();
    const target = append(store, 'run_a', 'tool.requested', { secret: 's' });
    append(store, 'run_a', 'ledger.redacted', { eventId: target.id, payloadHash: 'f'.repeat(64) });
    await expect(store.erasePayload(target.id)).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringContaining(`names event ${target.id} with its payload hash`),
    });
    const other = append(store, 'run_b', 'ledger.redacted', {
      eventId: target.id,
      payloadHash: target.payloadHash,
    });
    expect(checkPayloadErasure(target, [target, other], [])).toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
    append(store, 'run_a', 'ledger.redacted', { eventId: target.id, payloadHash: target.payloadHash });
    hold(store, 'placed', 'run_a');
    await expect(store.erasePayload(target.id)).rejects.toMatchObject({ code: 'CUSTODY_LEGAL_HOLD' });
    expect(store.all()[0]!.payload).toEqual({ secret: 's' });
    hold(store, 'released', 'run_a');
    expect(await store.erasePayload(target.id)).toBe(true);
    expect(await store.erasePayload(target.id)).toBe(true);
    expect(await store.erasePayload('run_a:99')).toBe(false);
  });
});
