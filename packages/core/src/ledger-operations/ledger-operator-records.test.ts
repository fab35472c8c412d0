import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { makeRuntime, startTriageRun } from '../../test/helpers.js';
import { createEd25519Signer } from '../ledger/checkpoint-signer.js';
import { checkOperatorAuthority } from '../ledger/operator-record.js';
import type { LedgerPage, LedgerQuery } from '../stores/ledger-store.js';
import { InMemoryLedgerStore } from '../stores/memory-ledger-store.js';
import { createLedger } from './ledger.js';

const pair = generateKeyPairSync('ed25519');
const opsPair = generateKeyPairSync('ed25519');
const pem = (key: typeof pair.publicKey) => key.export({ type: 'spki', format: 'pem' }).toString();
const signer = createEd25519Signer({ keyId: 'k1', privateKey: pair.privateKey });
const operatorSigner = createEd25519Signer({ keyId: 'ops', privateKey: opsPair.privateKey });
const keys = { k1: pem(pair.publicKey) };
const operatorKeys = { ops: pem(opsPair.publicKey) };
const request = { requestedBy: 'user:dpo', reason: 'erasure request #9' };
const DAY = 24 * 3600 * 1000;

/** Two finished runs of tenant acme, a day apart, and the clock moved 90 days on. */
async function finishedRuns() {
  const setup = makeRuntime();
  const first = await startTriageRun(setup.runtime);
  await first.call('jira.create_issue', { project: 'SUP', summary: 'first' });
  await first.end({ outcome: 'succeeded' });
  setup.clock.advance(DAY);
  const second = await startTriageRun(setup.runtime);
  await second.call('jira.create_issue', { project: 'SUP', summary: 'second' });
  await second.end({ outcome: 'succeeded' });
  setup.clock.advance(90 * DAY);
  const before = new Date(setup.clock.now()).toISOString();
  return { ...setup, first, second, before };
}

describe('operator records are signed', () => {
  it('prune and redact refuse without an operator signer', async () => {
    const { stores, before, first } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger });
    const [event] = await ledger.query({ runId: first.runId, type: 'tool.requested' });
    for (const attempt of [
      ledger.prune({ tenant: 'acme', before, ...request }),
      ledger.redact(event!.id, request),
    ]) {
      await expect(attempt).rejects.toMatchObject({
        code: 'CUSTODY_INVALID_ARGUMENT',
        message: expect.stringContaining('pass `operatorSigner` or `signer` to createLedger'),
      });
    }
    expect(await ledger.query({ runId: first.runId })).toHaveLength(7);
  });

  it('redact writes a signed record that verification honours with the keys', async () => {
    const { stores, first } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    await ledger.checkpoint();
    const [event] = await ledger.query({ runId: first.runId, type: 'tool.requested' });
    const record = await ledger.redact(event!.id, request);
    expect(record.payload).toMatchObject({
      eventId: event!.id,
      payloadHash: event!.payloadHash,
      authority: { keyId: 'k1', algorithm: 'ed25519' },
    });
    expect(checkOperatorAuthority(record, keys)).toBeUndefined();
    expect(await ledger.verify({ keys })).toMatchObject({
      ok: true,
      redacted: 1,
      operatorRecords: 1,
      signedOperatorRecords: 1,
    });
  });

  it('prune names every checkpointed head of a run, signed, so an early checkpoint still verifies', async () => {
    const { runtime, stores, clock } = makeRuntime();
    const ledger = createLedger({ store: stores.ledger, signer, clock });
    const run = await startTriageRun(runtime);
    await run.call('jira.get_issue', { id: '1' });
    await run.flush();
    await ledger.checkpoint(); // pins the run mid-way
    await run.end({ outcome: 'succeeded' });
    await ledger.checkpoint();
    clock.advance(90 * DAY);
    const before = new Date(clock.now()).toISOString();
    const events = await ledger.query({ runId: run.runId });
    const mid = (await ledger.checkpoints())[0]!.heads[run.runId]!;

    expect(await ledger.prune({ tenant: 'acme', before, ...request })).toEqual({
      runs: 1,
      events: events.length,
    });
    const [record] = await ledger.query({ type: 'ledger.pruned' });
    const last = events.at(-1)!;
    expect(record!.payload).toMatchObject({
      streams: [
        {
          stream: run.runId,
          seq: last.seq,
          hash: last.hash,
          events: events.length,
          heads: [mid, { seq: last.seq, hash: last.hash }],
        },
      ],
      authority: { keyId: 'k1' },
    });
    expect(await ledger.verify({ keys })).toMatchObject({
      ok: true,
      checkpoints: 2,
      signedOperatorRecords: 1,
    });
  });

  it('signs with operatorSigner when given; verification then needs the operator keys', async () => {
    const { stores, before } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger, signer, operatorSigner });
    await ledger.checkpoint();
    await ledger.prune({ tenant: 'acme', before, ...request });
    expect(await ledger.verify({ keys })).toMatchObject({
      ok: false,
      problem: { code: 'OPERATOR_UNKNOWN_KEY' },
    });
    expect(await ledger.verify({ keys, operatorKeys })).toMatchObject({ ok: true, signedOperatorRecords: 1 });
  });
});

describe('legal holds stop redaction and are enforced by the store', () => {
  it('redact refuses an event of a held run, or of a held tenant, and erases nothing (it erased before)', async () => {
    const { stores, first, second } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    const [target] = await ledger.query({ runId: first.runId, type: 'tool.requested' });
    await ledger.hold({ tenant: 'acme', runId: first.runId, requestedBy: 'user:counsel', reason: 'case 1' });
    await expect(ledger.redact(target!.id, request)).rejects.toMatchObject({
      code: 'CUSTODY_LEGAL_HOLD',
      message: expect.stringContaining(`run ${first.runId} of tenant acme is under legal hold`),
    });
    await ledger.hold({ tenant: 'acme', requestedBy: 'user:counsel', reason: 'case 2' });
    const [other] = await ledger.query({ runId: second.runId, type: 'tool.requested' });
    await expect(ledger.redact(other!.id, request)).rejects.toMatchObject({ code: 'CUSTODY_LEGAL_HOLD' });
    expect((await ledger.query({ type: 'tool.requested' })).every((event) => event.payload !== null)).toBe(
      true,
    );
    expect(await ledger.query({ type: 'ledger.redacted' })).toEqual([]);
  });

  it('redact refuses hold events and operator records', async () => {
    const { stores, before, first } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    const placed = await ledger.hold({
      tenant: 'acme',
      runId: first.runId,
      requestedBy: 'user:c',
      reason: 'r',
    });
    await ledger.prune({ tenant: 'acme', before, ...request });
    const [pruned] = await ledger.query({ type: 'ledger.pruned' });
    for (const event of [placed, pruned!]) {
      await expect(ledger.redact(event.id, request)).rejects.toThrow(/cannot be redacted/);
    }
  });

  it('the store refuses a prune whose caller missed a hold: nothing is deleted', async () => {
    const { stores, before, first } = await finishedRuns();
    // A store whose reads of the operator stream miss the holds, as a stale replica would.
    class StaleHolds extends InMemoryLedgerStore {
      override async read(query: LedgerQuery = {}): Promise<LedgerPage> {
        const page = await super.read(query);
        return { ...page, events: page.events.filter((event) => !event.type.startsWith('ledger.hold_')) };
      }
    }
    const store = new StaleHolds();
    store.appendSync(stores.ledger.all());
    const ledger = createLedger({ store, signer });
    await ledger.hold({ tenant: 'acme', runId: first.runId, requestedBy: 'user:counsel', reason: 'case 3' });
    await expect(ledger.prune({ tenant: 'acme', before, ...request })).rejects.toMatchObject({
      code: 'CUSTODY_LEGAL_HOLD',
    });
    expect(await ledger.query({ runId: first.runId })).toHaveLength(7);
  });

  it('prune refuses to delete a run that does not verify', async () => {
    const { stores, before, first } = await finishedRuns();
    class Altered extends InMemoryLedgerStore {
      override async read(query: LedgerQuery = {}): Promise<LedgerPage> {
        const page = await super.read(query);
        const events = page.events.map((event) =>
          event.id === `${first.runId}:1` ? { ...event, payload: { edited: true } } : event,
        );
        return { ...page, events };
      }
    }
    const store = new Altered();
    store.appendSync(stores.ledger.all());
    const ledger = createLedger({ store, signer });
    await expect(ledger.prune({ tenant: 'acme', before, ...request })).rejects.toMatchObject({
      code: 'CUSTODY_LEDGER_TAMPERED',
      message: expect.stringContaining(`prune refuses to delete stream ${first.runId}`),
    });
    expect(store.size).toBe(14);
  });
});

describe('ledger.verify: coverage and anchor checkpoints', () => {
  it('reports uncovered events, and fails on them with requireCovered', async () => {
    const { runtime, stores } = await finishedRuns();
    const ledger = createLedger({ store: stores.ledger, signer });
    expect(await ledger.verify()).toMatchObject({ ok: true, uncovered: { events: 14, streams: 2 } });
    await ledger.checkpoint();
    const late = await startTriageRun(runtime);
    await late.flush();
    expect(await ledger.verify({ keys })).toMatchObject({ ok: true, uncovered: { events: 1, streams: 1 } });
    expect(await ledger.verify({ keys, requireCovered: true })).toMatchObject({
      ok: false,
      uncovered: { events: 1, streams: 1 },
      problem: { code: 'UNCOVERED', eventId: `${late.runId}:0` },
    });
  });

  it('catches a ledger restored from an older copy with anchorCheckpoints', async () => {
    const { runtime, stores } = await finishedRuns();
    const live = createLedger({ store: stores.ledger, signer });
    await live.checkpoint();
    const copy = new InMemoryLedgerStore();
    copy.appendSync(stores.ledger.all());
    for (const checkpoint of await live.checkpoints()) await copy.appendCheckpoint(checkpoint);
    const later = await startTriageRun(runtime);
    await later.end({ outcome: 'succeeded' });
    const anchor = await live.checkpoint();

    const restored = createLedger({ store: copy, signer });
    expect(await restored.verify({ keys })).toMatchObject({ ok: true });
    expect(await restored.verify({ keys, anchorCheckpoints: [anchor] })).toMatchObject({
      ok: false,
      problem: {
        code: 'TRUNCATED',
        checkpoint: { anchor: true, index: 0 },
        message: expect.stringContaining(`stream ${later.runId} is in anchor checkpoint 0`),
      },
    });
    expect(await live.verify({ keys, anchorCheckpoints: [anchor] })).toMatchObject({
      ok: true,
      anchorCheckpoints: 1,
    });
  });
});
