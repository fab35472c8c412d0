import { describe, expect, it } from 'vitest';
import { makeRuntime, startTriageRun } from '../../test/helpers.js';
import { verifyLedger } from '../ledger/verify.js';
import { readAll } from '../stores/ledger-store.js';
import { createMemoryStores } from '../stores/memory-stores.js';
import type { UnitOfWork, UnitOfWorkStore } from '../stores/unit-of-work.js';
import { EventRecorder } from './event-recorder.js';

const identity = { stream: 'run-1', runId: 'run-1', traceId: null, tenant: 'acme', actor: 'agent:triage' };
const claim = {
  tenant: 'acme',
  key: 'k1',
  fingerprint: 'f'.repeat(64),
  callId: 'call-1',
  leaseMs: 1_000,
  now: 0,
};
const completion = { ...claim, outcome: { ok: true }, completedAt: 10, ttlMs: 60_000 };

/** Memory stores whose unit of work notes every commit, and can be told to fail the next ones. */
function countingStores() {
  const stores = createMemoryStores();
  const commits: UnitOfWork[] = [];
  let failures = 0;
  const unitOfWork: UnitOfWorkStore = {
    specificationVersion: 'v1',
    ledger: stores.ledger,
    idempotency: stores.idempotency,
    commit: async (work) => {
      if (failures > 0) {
        failures--;
        throw new Error('database unreachable');
      }
      commits.push(work);
      return stores.unitOfWork.commit(work);
    },
  };
  return { ...stores, unitOfWork, commits, failNext: (count: number) => (failures = count) };
}

describe('EventRecorder', () => {
  it('seals events in call order into one chain and commits them with the key change in one unit', async () => {
    const stores = countingStores();
    const recorder = new EventRecorder({ stores, identity, now: () => 0 });
    recorder.record('tool.requested', { n: 1 });
    recorder.record('policy.decided', { n: 2 });
    expect(await recorder.commit({ claim })).toEqual({ claim: { status: 'claimed' } });
    recorder.record('tool.result', { n: 3 });
    await recorder.commit({ complete: completion });

    expect(
      stores.commits.map((unit) => [
        unit.events.map((e) => e.type),
        Boolean(unit.claim),
        Boolean(unit.complete),
      ]),
    ).toEqual([
      [['tool.requested', 'policy.decided'], true, false],
      [['tool.result'], false, true],
    ]);
    const stored = await readAll(stores.ledger);
    expect(stored.map((event) => event.seq)).toEqual([0, 1, 2]);
    expect(verifyLedger(stored).ok).toBe(true);
  });

  it('keeps events a failed commit could not write, and writes them first with the next one', async () => {
    const stores = countingStores();
    const recorder = new EventRecorder({ stores, identity, now: () => 0 });
    recorder.record('tool.requested', {});
    await recorder.commit({ claim });
    recorder.record('tool.result', {});
    stores.failNext(1);
    await expect(recorder.commit({ complete: completion })).rejects.toMatchObject({
      code: 'CUSTODY_LEDGER_WRITE_FAILED',
    });
    expect(recorder.pendingCount).toBe(1);
    recorder.record('run.ended', {});
    await recorder.flush();
    // The completion that failed goes again, with the events it belonged to and those since.
    expect(
      stores.commits.slice(1).map((unit) => [unit.events.map((e) => e.type), Boolean(unit.complete)]),
    ).toEqual([[['tool.result', 'run.ended'], true]]);
    expect(recorder.pendingCount).toBe(0);
    const answer = await stores.idempotency.claim({ ...claim, now: 20 });
    expect(answer.status).toBe('completed');
    expect((await readAll(stores.ledger)).map((event) => event.type)).toEqual([
      'tool.requested',
      'tool.result',
      'run.ended',
    ]);
  });

  it('ignores a unit of work over other stores, and writes store by store instead', async () => {
    const stores = countingStores();
    const other = createMemoryStores();
    const recorder = new EventRecorder({
      stores: { ledger: other.ledger, idempotency: other.idempotency, unitOfWork: stores.unitOfWork },
      identity,
      now: () => 0,
    });
    recorder.record('tool.requested', {});
    expect(await recorder.commit({ claim })).toEqual({ claim: { status: 'claimed' } });
    expect(stores.commits).toEqual([]);
    expect((await readAll(other.ledger)).length).toBe(1);
  });

  it('store by store, gives a claim back when the events behind it could not be written', async () => {
    const stores = createMemoryStores();
    const failingLedger = {
      specificationVersion: 'v1' as const,
      append: async () => Promise.reject(new Error('disk full')),
      head: stores.ledger.head.bind(stores.ledger),
      read: stores.ledger.read.bind(stores.ledger),
    };
    const recorder = new EventRecorder({
      stores: { ledger: failingLedger, idempotency: stores.idempotency },
      identity,
      now: () => 0,
    });
    recorder.record('tool.requested', {});
    await expect(recorder.commit({ claim })).rejects.toMatchObject({ code: 'CUSTODY_LEDGER_WRITE_FAILED' });
    expect(await stores.idempotency.claim({ ...claim, callId: 'call-2' })).toEqual({ status: 'claimed' });
  });

  it('refuses a key change when it has no idempotency store', async () => {
    const recorder = new EventRecorder({
      stores: { ledger: createMemoryStores().ledger },
      identity,
      now: () => 0,
    });
    await expect(recorder.commit({ claim })).rejects.toMatchObject({ code: 'CUSTODY_INVALID_ARGUMENT' });
  });

  it('masks payloads with its redactor before sealing them', async () => {
    const stores = countingStores();
    const recorder = new EventRecorder({
      stores,
      identity,
      now: () => 0,
      redact: () => ({ masked: true }),
    });
    const event = recorder.record('tool.requested', { password: 'hunter2' });
    expect(event.payload).toEqual({ masked: true });
    await recorder.flush();
    expect(JSON.stringify(await readAll(stores.ledger))).not.toContain('hunter2');
  });
});

describe('commits per gated call (the floor the unit of work gives)', () => {
  it('a write with an idempotency key commits twice, a read once', async () => {
    const stores = countingStores();
    const { runtime } = makeRuntime({ stores });
    const run = await startTriageRun(runtime);
    const before = stores.commits.length;
    await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    const write = stores.commits.slice(before);
    expect(write.map((unit) => ({ claim: Boolean(unit.claim), complete: Boolean(unit.complete) }))).toEqual([
      { claim: true, complete: false },
      { claim: false, complete: true },
    ]);
    const beforeRead = stores.commits.length;
    await run.call('jira.get_issue', { id: 'ISSUE-1' });
    expect(stores.commits.length - beforeRead, 'commits of one read').toBe(1);
    await run.end({ outcome: 'succeeded' });
  });
});
