import { describe, expect, it } from 'vitest';
import { makeRuntime, simplePolicy, startTriageRun } from '../../test/helpers.js';
import { type PipelineExtension, readAll } from '../index.js';

describe('reserve-budget: the seam a budget package plugs into', () => {
  it('hands on and records nothing of its own', async () => {
    const { runtime } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    const types = (await readAll(runtime.stores.ledger, { runId: run.runId })).map((event) => event.type);
    expect(types).toEqual(['run.started', 'tool.requested', 'policy.decided', 'tool.attempt', 'tool.result']);
  });

  it('runs after authorization and before the policy, so a refusal there asks no policy and runs no tool', async () => {
    let asked = 0;
    const overBudget: PipelineExtension = {
      name: 'budget',
      steps: [
        {
          at: 'reserve-budget',
          step: {
            name: 'budget.reserve',
            run: async (call) => ({
              status: 'denied',
              callId: call.request.callId,
              tool: call.tool.name,
              code: 'CUSTODY_POLICY_DENIED',
              reason: `run ${call.run.runId} is over budget`,
            }),
          },
        },
      ],
    };
    const { runtime, calls } = makeRuntime({
      extensions: [overBudget],
      policy: simplePolicy(() => {
        asked++;
        return { effect: 'allow' };
      }),
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    expect(result).toMatchObject({ status: 'denied', reason: `run ${run.runId} is over budget` });
    expect(asked).toBe(0);
    expect(calls).toEqual([]);
  });
});
