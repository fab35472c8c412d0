import { fileURLToPath } from 'node:url';
import { definePolicy, forbid, permit } from '@custody/policy';
import { defineReplaySetup, readEvalReport, renderEvalReport, runEval } from '@custody/replay';
import { describe, expect, it } from 'vitest';
import { replaySetup } from './replay-setup.js';

const regression = fileURLToPath(new URL('../regression', import.meta.url));

// The example's regression set: committed bundles with expect files (outcome and governance
// assertions). `pnpm --filter @custody/example-support-triage eval` runs the same through the CLI.
describe('the support-triage regression set', () => {
  it('succeeds in full against the current agent, tools and policy', async () => {
    const baseline = await readEvalReport(`${regression}/eval-baseline.json`);
    const report = await runEval(regression, replaySetup, { baseline });
    expect(report.passed, renderEvalReport(report)).toBe(true);
    expect(report.cases.flatMap((c) => c.failures)).toEqual([]);
    expect(report.metrics).toMatchObject({
      cases: 2,
      successRate: 1,
      replaySuccessRate: 1,
      assertions: { total: 7, failed: 0 },
    });
  });

  it('fails when a policy change would let a large refund through without finance', async () => {
    const loosened = definePolicy({ id: 'support', version: '2026-12-01' }, [
      permit({ id: 'gmail-read-draft', tools: ['gmail.read', 'gmail.draft'] }),
      forbid({ id: 'gmail-no-send', tools: ['gmail.send'] }),
      permit({ id: 'jira-issues', tools: ['jira.create_issue'] }),
      permit({ id: 'stripe', tools: ['stripe.*'] }),
    ]);
    const report = await runEval(regression, defineReplaySetup({ ...replaySetup, policy: loosened }));
    const [doubleCharge, duplicateOnly] = report.cases;
    expect(doubleCharge!.success).toBe(false);
    expect(doubleCharge!.failures).toContain(
      'requires_approval_above stripe.refund: stripe.refund with amountCents above 5000 must wait for 2 finance approvers: amountCents 18900 at step 11 (allowed by the current policy (recorded pending_approval)) (refunds above $50 need two people from finance)',
    );
    expect(duplicateOnly!.success).toBe(true);
    expect(report).toMatchObject({ passed: false, metrics: { successRate: 0.5 } });
  });
});
