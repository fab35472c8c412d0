import { describe, expect, it } from 'vitest';
import { failingIdempotencyStore, makeRuntime, startTriageRun } from '../../test/helpers.js';
import { EventTypes, type LedgerEvent, readAll, verifyLedger } from '../index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('commit: the result and the key complete together', () => {
  it('executes an allowed write and records requested → decided → attempt → verified → result', async () => {
    const { runtime, stores, issues } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('jira.create_issue', { project: 'SUP', summary: 'Printer on fire' });
    expect(result).toMatchObject({
      status: 'ok',
      output: { id: 'ISSUE-1' },
      idempotencyHit: false,
      verification: { ok: true },
    });
    expect(issues.size).toBe(1);
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(types(events)).toEqual([
      'run.started',
      'tool.requested',
      'policy.decided',
      'tool.attempt',
      'tool.verified',
      'tool.result',
      'run.ended',
    ]);
    expect(new Set(events.map((event) => event.traceId))).toEqual(new Set([run.traceId]));
    expect(events[0]!.payload).toMatchObject({
      tools: expect.arrayContaining([
        expect.objectContaining({
          name: 'stripe.refund',
          version: '2.1.0',
          inputSchemaHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ]),
    });
    expect(events[2]!.payload).toMatchObject({
      effect: 'allow',
      policy: { id: 'test-policy', version: '1' },
      ruleIds: ['rule:allow'],
    });
    expect(verifyLedger(events)).toMatchObject({ ok: true, events: 7 });
  });

  it('returns the real outcome and records the failure when the result cannot be stored under its key', async () => {
    const { runtime } = makeRuntime({ stores: { idempotency: failingIdempotencyStore('complete') } });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({ status: 'ok', output: { refundId: 're_c' } });
    const [event] = await readAll(runtime.stores.ledger, { type: EventTypes.idempotencyStoreFailed });
    expect(event!.payload).toMatchObject({ error: 'redis down', tool: 'stripe.refund' });
  });
});
