import type { Run } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { executions, fixtureAgent, makeTools, recordFixtureRun } from '../test/fixture-agent.js';
import { exportBundle, loadBundle } from './bundle.js';
import { replay } from './replay.js';

async function recordedBundle() {
  const { runtime, runId, statuses } = await recordFixtureRun();
  expect(statuses).toEqual(['ok', 'pending_approval', 'denied']);
  // A JSON round trip, as a bundle read from a fixture file would be.
  return loadBundle(JSON.stringify(await exportBundle(runtime.stores.ledger, runId)));
}

describe('replay (recorded mode)', () => {
  it('matches an unchanged agent and executes no tool', async () => {
    const bundle = await recordedBundle();
    executions.length = 0;
    const result = await replay(bundle, fixtureAgent(), { tools: makeTools() });
    expect(result.report()).toContain('MATCHED');
    expect(result).toMatchObject({
      status: 'matched',
      steps: { recorded: 8, replayed: 8 },
      neverMade: [],
      notRecorded: [],
    });
    expect(executions).toEqual([]);
    // The approval outcome and the denial are reproduced from the recording.
    expect(result.agentResult).toEqual(['ok', 'pending_approval', 'denied']);
  });

  it('reproduces every answer the door gave: time, ids, documents, model replies, tool outputs', async () => {
    const bundle = await recordedBundle();
    const seen: unknown[] = [];
    await replay(bundle, async (run: Run) => {
      seen.push(run.now().toISOString(), run.id());
      seen.push(await run.retrieve('kb', 'refund rules', async () => []));
      seen.push(await run.call('crm.lookup', { email: 'dana@example.com' }));
    });
    const recorded = bundle.steps;
    expect(seen[0]).toBe((recorded[0] as { value: string }).value);
    expect(seen[1]).toBe((recorded[1] as { value: string }).value);
    expect(seen[2]).toEqual([{ id: 'kb/1', content: 'Refunds under $100 are automatic.', version: '3' }]);
    expect(seen[3]).toMatchObject({ status: 'ok', output: { customerId: 'cus_dana', tier: 'gold' } });
  });

  it('pinpoints a changed tool input with a readable diff', async () => {
    const result = await replay(await recordedBundle(), fixtureAgent({ amounts: [2_500, 26_000] }), {
      tools: makeTools(),
    });
    expect(result.status).toBe('diverged');
    expect(result.divergence).toMatchObject({ kind: 'tool_input_changed', step: 6 });
    expect(result.divergence!.differences).toEqual([
      { path: 'amountCents', expected: 25_000, actual: 26_000 },
    ]);
    expect(result.report()).toContain('amountCents\n    - 25000\n    + 26000');
    // The diverging step counts as not replayed: it and everything after it were never made as recorded.
    expect(result.steps).toEqual({ recorded: 8, replayed: 6 });
    expect(result.neverMade.map((step) => step.name)).toEqual(['billing.refund', 'mail.send']);
  });

  it('pinpoints a different tool', async () => {
    const result = await replay(await recordedBundle(), fixtureAgent({ tool: 'mail.send', amounts: [1] }));
    expect(result.divergence).toMatchObject({ kind: 'different_tool', step: 5 });
    expect(result.divergence!.message).toContain(
      'called "billing.refund" in the recording, but the agent called "mail.send"',
    );
  });

  it('reports an extra call, and calls the recording does not have', async () => {
    const result = await replay(await recordedBundle(), fixtureAgent({ extraLookup: true }));
    expect(result.divergence).toMatchObject({ kind: 'different_door', step: 4 });
    const longer = await replay(await recordedBundle(), async (run) => {
      await fixtureAgent()(run);
      await run.call('crm.lookup', { email: 'late@example.com' });
    });
    expect(longer.divergence).toMatchObject({ kind: 'extra_call', step: 8 });
    expect(longer.notRecorded).toMatchObject([{ step: 8, kind: 'tool', name: 'crm.lookup' }]);
  });

  it('reports a missing call', async () => {
    const result = await replay(await recordedBundle(), fixtureAgent({ skipMail: true }));
    expect(result.divergence).toMatchObject({ kind: 'missing_calls', step: 7 });
    expect(result.neverMade).toMatchObject([{ step: 7, kind: 'tool', name: 'mail.send' }]);
  });

  it('pinpoints a changed model request (prompt template version)', async () => {
    const result = await replay(await recordedBundle(), fixtureAgent({ templateVersion: '2' }));
    expect(result.divergence).toMatchObject({ kind: 'model_request_changed', step: 4 });
    expect(result.divergence!.message).toContain('prompt template refunds@1 → refunds@2');
    expect(result.divergence!.differences).toEqual([
      { path: 'request.promptTemplate.version', expected: '1', actual: '2' },
    ]);
  });

  it('pinpoints a changed tool contract (version or schema)', async () => {
    const bundle = await recordedBundle();
    const bumped = await replay(bundle, fixtureAgent(), { tools: makeTools({ refundVersion: '3.0.0' }) });
    expect(bumped.divergence).toMatchObject({ kind: 'tool_contract_changed', step: 5 });
    expect(bumped.divergence!.message).toContain('version 2.0.0 → 3.0.0');
    const reshaped = await replay(bundle, fixtureAgent(), { tools: makeTools({ extraField: true }) });
    expect(reshaped.divergence!.message).toContain('input schema changed');
  });

  it('stops an agent that keeps going after a divergence, and reports its error otherwise', async () => {
    let calls = 0;
    const stubborn = await replay(await recordedBundle(), async (run) => {
      for (let i = 0; i < 3; i++) {
        try {
          await run.call('nope.tool', {});
        } catch {
          calls++;
        }
      }
    });
    expect(calls).toBe(3);
    expect(stubborn.divergence?.kind).toBe('different_door');
    const crashing = await replay(await recordedBundle(), () => {
      throw new Error('boom');
    });
    expect(crashing.divergence).toMatchObject({
      kind: 'agent_error',
      message: 'the agent threw at step 0: boom',
    });
  });
});

describe('replay (live mode)', () => {
  it('executes tools for real and compares their results with the recording', async () => {
    const bundle = await recordedBundle();
    executions.length = 0;
    const same = await replay(bundle, fixtureAgent(), { mode: 'live', tools: makeTools() });
    expect(same.status).toBe('matched');
    expect(executions).toEqual(['crm.lookup', 'billing.refund']); // the denied and pending calls never ran
    const changed = makeTools();
    const lookup = changed[0]!;
    changed[0] = { ...lookup, execute: async () => ({ customerId: 'cus_dana', tier: 'silver' }) };
    const result = await replay(bundle, fixtureAgent(), { mode: 'live', tools: changed });
    expect(result.divergence).toMatchObject({ kind: 'tool_output_changed', step: 3 });
    expect(result.divergence!.differences).toEqual([
      { path: 'output.tier', expected: 'gold', actual: 'silver' },
    ]);
  });

  it('needs tools', async () => {
    await expect(replay(await recordedBundle(), fixtureAgent(), { mode: 'live' })).rejects.toThrow(
      /needs `tools`/,
    );
  });
});
