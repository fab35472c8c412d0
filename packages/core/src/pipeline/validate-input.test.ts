import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, makeRuntime, simplePolicy, startTriageRun, triageAgent } from '../../test/helpers.js';
import { createRuntime, defineTool, type LedgerEvent, readAll, verifyLedger } from '../index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('validate-input: strict schemas and recordable input', () => {
  it('rejects invalid and unknown-key input with issues the model can use, executing nothing', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: -5, note: 'extra' });
    expect(result.status).toBe('invalid');
    if (result.status !== 'invalid') return;
    expect(result.code).toBe('CUSTODY_INPUT_INVALID');
    expect(result.message).toMatch(/^tool "stripe.refund" input is invalid: /);
    expect(result.issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(['amountCents']));
    expect(result.issues.some((issue) => issue.code === 'unrecognized_keys')).toBe(true);
    expect(calls).toEqual([]);
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(types(events).slice(1)).toEqual(['tool.requested', 'tool.input_rejected']);
    expect(events[1]!.payload).toMatchObject({ input: { amountCents: -5, note: 'extra' } });
  });

  it('rejects input that JSON cannot record (a BigInt) at the call, before anything runs', async () => {
    const bigTool = defineTool({
      name: 'ledger.post',
      version: '1',
      effect: 'write',
      input: z.object({ amount: z.bigint() }),
      output: z.object({ ok: z.boolean() }),
      execute: () => ({ ok: true }),
    });
    const runtime = createRuntime({ tools: [bigTool], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['*'] },
      scope: { tenant: 'acme' },
    });
    const result = await run.call(bigTool, { amount: 10n });
    expect(result).toMatchObject({ status: 'invalid', code: 'CUSTODY_CANONICAL_INVALID' });
    await run.end({ outcome: 'failed' });
    expect(verifyLedger(await readAll(runtime.stores.ledger)).ok).toBe(true);
  });
});
