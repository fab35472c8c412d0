import { describe, expect, it } from 'vitest';
import { makeRuntime, simplePolicy, startTriageRun } from '../../test/helpers.js';
import { type CallState, type PipelineExtension, readAll, STEP_NAMES } from '../index.js';
import { createPipeline } from './pipeline.js';

/** An extension whose steps note, at every built-in point, that the call got there. */
function probeEverywhere(seen: string[]): PipelineExtension {
  return {
    name: 'probe',
    steps: STEP_NAMES.map((at) => ({
      at,
      step: {
        name: `probe.${at}`,
        run: (_call, next) => {
          seen.push(at);
          return next();
        },
      },
    })),
  };
}

describe('the pipeline: built-in steps in DESIGN order, extensions at named points', () => {
  it('lists the built-in steps in order, each extension step just ahead of the step it names', () => {
    const budget: PipelineExtension = {
      name: 'budget',
      steps: [{ at: 'reserve-budget', step: { name: 'budget.reserve', run: (_call, next) => next() } }],
    };
    expect(createPipeline().steps.map((step) => step.name)).toEqual([...STEP_NAMES]);
    expect(createPipeline([budget]).steps.map((step) => step.name)).toEqual([
      'resolve-tool',
      'validate-input',
      'check-mode',
      'authorize',
      'budget.reserve',
      'reserve-budget',
      'decide-policy',
      'claim-idempotency',
      'execute',
      'validate-output',
      'commit',
    ]);
  });

  it('passes an allowed write through every step, and stops a denied call at the step that denies it', async () => {
    const seen: string[] = [];
    const { runtime } = makeRuntime({ extensions: [probeEverywhere(seen)] });
    const run = await startTriageRun(runtime);
    await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    expect(seen).toEqual([...STEP_NAMES]);
    seen.length = 0;
    const denied = await run.call('jira.create_issue', { project: 'OTHER', summary: 'x' });
    expect(denied).toMatchObject({ status: 'denied', code: 'CUSTODY_RESOURCE_OUT_OF_SCOPE' });
    expect(seen).toEqual(['resolve-tool', 'validate-input', 'check-mode', 'authorize']);
  });

  it('lets a step wrap everything after it and see every outcome (a budget settles on deny and on ok)', async () => {
    const settled: string[] = [];
    const budget: PipelineExtension = {
      name: 'budget',
      steps: [
        {
          at: 'reserve-budget',
          step: {
            name: 'budget.reserve',
            async run(call, next) {
              try {
                return await next();
              } finally {
                settled.push(`${call.tool.name}:${call.request.callId}`);
              }
            },
          },
        },
      ],
    };
    const { runtime } = makeRuntime({
      extensions: [budget],
      policy: simplePolicy((request) => ({
        effect: request.tool.name === 'stripe.refund' ? 'deny' : 'allow',
      })),
    });
    const run = await startTriageRun(runtime);
    const denied = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    const ok = await run.call('jira.get_issue', { id: 'ISSUE-1' });
    expect([denied.status, ok.status]).toEqual(['denied', 'ok']);
    expect(settled).toEqual([`stripe.refund:${denied.callId}`, `jira.get_issue:${ok.callId}`]);
  });

  it('wraps each run of the tool with aroundExecute, first extension outermost; a wrapper may retry it', async () => {
    const order: string[] = [];
    let failures = 1;
    const retry: PipelineExtension = {
      name: 'retry',
      async aroundExecute(_call, invoke) {
        order.push('retry');
        try {
          return await invoke();
        } catch {
          order.push('retry again');
          return invoke();
        }
      },
    };
    const flaky: PipelineExtension = {
      name: 'flaky',
      async aroundExecute(_call, invoke) {
        order.push('flaky');
        if (failures-- > 0) throw new Error('connection reset');
        return invoke();
      },
    };
    const { runtime, calls } = makeRuntime({ extensions: [retry, flaky] });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    expect(result).toMatchObject({ status: 'ok', output: { refundId: 're_ch_1' } });
    expect(order).toEqual(['retry', 'flaky', 'retry again', 'flaky']);
    expect(calls).toHaveLength(1);
  });

  it('never runs the rest of a call twice: a step calling next() twice is refused', async () => {
    const twice: PipelineExtension = {
      name: 'twice',
      steps: [
        {
          at: 'execute',
          step: {
            name: 'twice',
            async run(_call, next) {
              await next();
              return next();
            },
          },
        },
      ],
    };
    const { runtime, calls } = makeRuntime({ extensions: [twice] });
    const run = await startTriageRun(runtime);
    await expect(run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 })).rejects.toThrow(
      /pipeline step "twice" called next\(\) twice/,
    );
    expect(calls).toHaveLength(1);
  });

  it('re-enters at the mode check, so a mode set while a call waited still applies', async () => {
    let held: CallState | undefined;
    const hold: PipelineExtension = {
      name: 'hold',
      steps: [
        {
          at: 'claim-idempotency',
          step: {
            name: 'hold',
            run: async (call, next) => {
              if (held) return next();
              held = call;
              return {
                status: 'denied',
                callId: call.request.callId,
                tool: call.tool.name,
                code: 'CUSTODY_POLICY_DENIED',
                reason: 'held',
              };
            },
          },
        },
      ],
    };
    const { runtime, calls } = makeRuntime({ extensions: [hold] });
    const run = await startTriageRun(runtime);
    await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 });
    await runtime.setMode('read_only', {
      tenant: 'acme',
      actor: { kind: 'user', id: 'ops' },
      reason: 'incident',
    });
    const resumed = await held!.runtime.pipeline.run(held!, 'check-mode');
    expect(resumed).toMatchObject({ status: 'denied', code: 'CUSTODY_MODE_BLOCKED' });
    expect(calls).toEqual([]);
    await runtime.setMode('normal', { tenant: 'acme', actor: { kind: 'user', id: 'ops' }, reason: 'over' });
    const again = await held!.runtime.pipeline.run(held!, 'check-mode');
    expect(again).toMatchObject({ status: 'ok' });
    expect(calls).toHaveLength(1);
    const events = await readAll(runtime.stores.ledger, { runId: run.runId, type: 'policy.decided' });
    expect(events).toHaveLength(2);
  });

  it('says which step settles a part of the call that a step reads too early', async () => {
    const early: PipelineExtension = {
      name: 'early',
      steps: [
        {
          at: 'check-mode',
          step: { name: 'early', run: async (call) => Promise.reject(readDecision(call)) },
        },
      ],
    };
    const { runtime } = makeRuntime({ extensions: [early] });
    const run = await startTriageRun(runtime);
    await expect(run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 5 })).rejects.toThrow(
      /decision is read before step "decide-policy" settled it/,
    );
  });

  it('refuses malformed extensions at createRuntime, saying what is wrong', () => {
    const bad = [
      [{ steps: [] }, /extensions\[0\] needs a name/],
      [
        { name: 'x', steps: [{ at: 'nowhere', step: { name: 's', run: () => undefined } }] },
        /adds a step at "nowhere"; points are resolve-tool, /,
      ],
      [
        { name: 'x', steps: [{ at: 'execute', step: {} }] },
        /step at "execute" needs a name and a run\(call, next\) function/,
      ],
      [{ name: 'x', aroundExecute: 'retry' }, /aroundExecute must be a function/],
    ] as const;
    for (const [extension, message] of bad) {
      expect(() => makeRuntime({ extensions: [extension as unknown as PipelineExtension] })).toThrow(message);
    }
  });
});

function readDecision(call: CallState): unknown {
  try {
    return call.decision;
  } catch (error) {
    return error;
  }
}
