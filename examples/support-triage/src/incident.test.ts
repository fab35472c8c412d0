// The code of docs/guide-debug-an-incident.md, run on every change so the guide stays true.
// The guide replays the bundle it exports with `custody bundle`; this test uses the committed one.
import { readFileSync } from 'node:fs';
import { definePolicy, permit, requireApproval } from '@custody/policy';
import { loadBundle, policyWhatIf, replay } from '@custody/replay';
import { expect, it } from 'vitest';
import { type Ticket, triageAgent } from './agent.js';
import { supportPolicy } from './policy.js';
import { replaySetup } from './replay-setup.js';

const bundle = loadBundle(
  readFileSync(new URL('../fixtures/triage-double-charge.bundle.json', import.meta.url), 'utf8'),
);
const ticket = bundle.run.metadata.ticket as Ticket;

it('replays the incident exactly as it happened', async () => {
  const result = await replay(bundle, (run) => triageAgent(run, ticket), { tools: replaySetup.tools });
  expect(result.status).toBe('matched');
  expect(result.report()).toMatch(/MATCHED — 13 of 13 recorded steps replayed/);
});

it('pinpoints where a changed agent stops doing what the recording did', async () => {
  const result = await replay(bundle, (run) => triageAgent(run, ticket, { maxSteps: 3 }), {
    tools: replaySetup.tools,
  });
  expect(result.status).toBe('diverged');
  expect(result.divergence).toMatchObject({ kind: 'missing_calls', step: 7 });
  expect(result.report()).toContain('first divergence (missing_calls) at step 7');
  expect(result.neverMade.map((step) => step.name ?? step.kind)).toEqual([
    'scripted-1',
    'gmail.send',
    'scripted-1',
    'stripe.refund',
    'stripe.refund',
    'scripted-1',
  ]);
});

it('shows which recorded decisions a candidate policy would change', async () => {
  const refundRules = ['small-refunds', 'large-refunds'];
  const candidate = definePolicy({ id: 'support', version: '2026-11-15' }, [
    ...supportPolicy.rules.filter((rule) => !refundRules.includes(rule.id)),
    permit({
      id: 'small-refunds',
      tools: ['stripe.refund'],
      when: ({ input }) => (input as { amountCents: number }).amountCents <= 2_000,
    }),
    requireApproval({
      id: 'large-refunds',
      tools: ['stripe.refund'],
      when: ({ input }) => (input as { amountCents: number }).amountCents > 2_000,
      approvers: { role: 'finance', count: 2 },
    }),
  ]);
  const { changes } = await policyWhatIf(bundle, candidate, { tools: replaySetup.tools });
  expect(
    changes.map((change) => [change.step, change.tool, change.recorded.effect, change.candidate.effect]),
  ).toEqual([[10, 'stripe.refund', 'allow', 'require_approval']]);
});
