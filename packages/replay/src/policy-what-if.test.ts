import { definePolicy, forbid, permit, requireApproval } from '@custody/policy';
import { describe, expect, it } from 'vitest';
import { policy, recordFixtureRun } from '../test/fixture-agent.js';
import { exportBundle } from './bundle.js';
import { policyWhatIf } from './policy-what-if.js';

describe('policyWhatIf', () => {
  it('lists every decision that would change under a candidate policy, with rule ids on both sides', async () => {
    const { runtime, runId } = await recordFixtureRun();
    const bundle = await exportBundle(runtime.stores.ledger, runId);
    const stricter = definePolicy({ id: 'fixture', version: '2' }, [
      permit({ id: 'lookups', tools: ['crm.lookup'] }),
      requireApproval({
        id: 'all-refunds',
        tools: ['billing.refund'],
        approvers: { role: 'finance', count: 1 },
      }),
      permit({ id: 'mail-ok', tools: ['mail.send'] }),
    ]);
    const result = await policyWhatIf(bundle, stricter);
    expect(result.decisions).toHaveLength(4);
    expect(
      result.changes.map((c) => [
        c.tool,
        c.recorded.effect,
        c.candidate.effect,
        c.recorded.ruleIds,
        c.candidate.ruleIds,
      ]),
    ).toEqual([
      ['billing.refund', 'allow', 'require_approval', ['small-refunds'], ['all-refunds']],
      ['billing.refund', 'require_approval', 'require_approval', ['large-refunds'], ['all-refunds']],
      ['mail.send', 'deny', 'allow', ['no-mail'], ['mail-ok']],
    ]);
    expect(result.changes[0]!.candidate.policy).toMatchObject({ id: 'fixture', version: '2' });
  });

  it('finds no change under the recorded policy itself', async () => {
    const { runtime, runId } = await recordFixtureRun();
    const result = await policyWhatIf(await exportBundle(runtime.stores.ledger, runId), policy);
    expect(result.changes).toEqual([]);
    expect(result.decisions.every((d) => !d.changed)).toBe(true);
  });

  it('treats a throwing candidate as deny', async () => {
    const { runtime, runId } = await recordFixtureRun();
    const broken = definePolicy({ id: 'broken', version: '1' }, [
      forbid({
        id: 'explodes',
        tools: ['*'],
        when: () => {
          throw new Error('bad rule');
        },
      }),
    ]);
    const result = await policyWhatIf(await exportBundle(runtime.stores.ledger, runId), broken);
    expect(result.decisions.every((d) => d.candidate.effect === 'deny')).toBe(true);
  });
});
