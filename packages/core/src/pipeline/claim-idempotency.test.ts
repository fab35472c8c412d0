import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  agentActor,
  failingIdempotencyStore,
  makeRuntime,
  simplePolicy,
  startTriageRun,
  triageAgent,
} from '../../test/helpers.js';
import {
  createRuntime,
  defineTool,
  EventTypes,
  InMemoryLedgerStore,
  type LedgerEvent,
  readAll,
  verifyLedger,
} from '../index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('claim-idempotency: one execution per key, write-ahead before the effect', () => {
  it('never executes the same write twice in a run; the second call returns the stored result', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    const first = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 500 });
    const second = await run.call('stripe.refund', { amountCents: 500, chargeId: 'ch_1' });
    expect(first).toMatchObject({ status: 'ok', idempotencyHit: false });
    expect(second).toMatchObject({ status: 'ok', idempotencyHit: true, output: { refundId: 're_ch_1' } });
    expect(calls).toHaveLength(1);
    expect(await readAll(stores.ledger, { type: EventTypes.idempotencyHit })).toHaveLength(1);
  });

  it('passes the key to the tool and honours an explicit key across runs', async () => {
    const { runtime, calls } = makeRuntime();
    const a = await startTriageRun(runtime);
    const b = await startTriageRun(runtime);
    await a.call('stripe.refund', { chargeId: 'ch_2', amountCents: 10 }, { idempotencyKey: 'refund-ch_2' });
    const again = await b.call(
      'stripe.refund',
      { chargeId: 'ch_2', amountCents: 10 },
      { idempotencyKey: 'refund-ch_2' },
    );
    expect(again).toMatchObject({ status: 'ok', idempotencyHit: true });
    expect(calls).toEqual(['stripe.refund:refund-ch_2']);
  });

  it('rejects the same key with different input as a conflict', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('stripe.refund', { chargeId: 'ch_3', amountCents: 10 }, { idempotencyKey: 'k' });
    const result = await run.call(
      'stripe.refund',
      { chargeId: 'ch_3', amountCents: 99 },
      { idempotencyKey: 'k' },
    );
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_IDEMPOTENCY_CONFLICT', executed: false });
    expect(calls).toHaveLength(1);
  });

  it('lets exactly one of many concurrent identical calls execute', async () => {
    let executions = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTool({
      name: 'bank.transfer',
      version: '1',
      effect: 'write',
      input: z.object({ to: z.string(), cents: z.number().int() }),
      output: z.object({ ok: z.boolean() }),
      execute: async () => {
        executions++;
        await gate;
        return { ok: true };
      },
    });
    const runtime = createRuntime({ tools: [slow], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['bank.*'] },
      scope: { tenant: 't' },
    });
    const pending = Array.from({ length: 5 }, () => run.call(slow, { to: 'bob', cents: 100 }));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const results = await Promise.all(pending);
    expect(executions).toBe(1);
    expect(results.filter((result) => result.status === 'ok')).toHaveLength(1);
    expect(
      results.filter(
        (result) => result.status === 'failed' && result.code === 'CUSTODY_IDEMPOTENCY_IN_PROGRESS',
      ),
    ).toHaveLength(4);
    await run.end({ outcome: 'succeeded' });
    expect(verifyLedger(await readAll(runtime.stores.ledger)).ok).toBe(true);
  });

  it('keeps a failed execution under its key instead of running it again', async () => {
    let executions = 0;
    const flaky = defineTool({
      name: 'mail.send',
      version: '1',
      effect: 'external_send',
      input: z.object({ to: z.string() }),
      output: z.object({ id: z.string() }),
      execute: () => {
        executions++;
        throw new Error('SMTP timeout');
      },
    });
    const runtime = createRuntime({ tools: [flaky], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['mail.*'] },
      scope: { tenant: 't' },
    });
    const first = await run.call(flaky, { to: 'a@b.c' });
    expect(first).toMatchObject({ status: 'failed', code: 'CUSTODY_EXECUTION_FAILED', executed: true });
    expect(first.status === 'failed' && first.message).toContain('SMTP timeout');
    const second = await run.call(flaky, { to: 'a@b.c' });
    expect(second).toMatchObject({ status: 'failed', executed: false });
    expect(second.status === 'failed' && second.message).toContain('pass a new idempotencyKey');
    expect(executions).toBe(1);
    const fresh = await run.call(flaky, { to: 'a@b.c' }, { idempotencyKey: 'retry-1' });
    expect(fresh.status === 'failed' && fresh.executed).toBe(true);
    expect(executions).toBe(2);
  });

  it('re-runs reads freely', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('jira.get_issue', { id: 'ISSUE-1' });
    await run.call('jira.get_issue', { id: 'ISSUE-1' });
    expect(calls).toEqual(['jira.get_issue', 'jira.get_issue']);
  });

  it('validates explicit keys', async () => {
    const { runtime } = makeRuntime();
    const run = await startTriageRun(runtime);
    await expect(
      run.call('stripe.refund', { chargeId: 'c', amountCents: 1 }, { idempotencyKey: 'x'.repeat(256) }),
    ).rejects.toThrow(/at most 255 characters/);
  });

  it.each([
    ['a store that appends asynchronously', false],
    ['a store that appends synchronously', true],
  ])(
    'does not execute when the write-ahead record cannot be stored, and writes it later (%s)',
    async (_, sync) => {
      const ledger = new InMemoryLedgerStore();
      let failNext = false;
      const append = (events: readonly LedgerEvent[]) => {
        if (failNext) throw new Error('disk full');
        ledger.appendSync(events);
      };
      const flaky = {
        specificationVersion: 'v1' as const,
        head: (stream: string) => ledger.head(stream),
        read: (query?: Parameters<InMemoryLedgerStore['read']>[0]) => ledger.read(query),
        append: async (events: readonly LedgerEvent[]) => append(events),
        ...(sync ? { appendSync: append } : {}),
      };
      const { runtime, calls } = makeRuntime({ stores: { ledger: flaky } });
      const run = await startTriageRun(runtime);
      failNext = true;
      const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 1 });
      expect(result).toMatchObject({
        status: 'failed',
        code: 'CUSTODY_LEDGER_WRITE_FAILED',
        executed: false,
      });
      expect(calls).toEqual([]);
      failNext = false;
      // The key was released, so the call can run now; the queued events are written first.
      const retry = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 1 });
      expect(retry).toMatchObject({ status: 'ok', idempotencyHit: false });
      await run.end({ outcome: 'succeeded' });
      const events = ledger.all();
      expect(verifyLedger(events).ok).toBe(true);
      expect(types(events).filter((type) => type === 'tool.requested')).toHaveLength(2);
    },
  );

  it('does not execute when the key cannot be claimed', async () => {
    const { runtime, calls } = makeRuntime({ stores: { idempotency: failingIdempotencyStore('claim') } });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({
      status: 'failed',
      code: 'CUSTODY_STORE_ERROR',
      executed: false,
      retryable: true,
    });
    expect(result.status === 'failed' && result.message).toContain('redis down');
    expect(calls).toEqual([]);
    expect((await readAll(runtime.stores.ledger, { type: 'tool.result' }))[0]!.payload).toMatchObject({
      executed: false,
    });
  });
});
