import { verifyLedger } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { runSupportTriage } from './app.js';

describe('support-triage example', () => {
  it('files a ticket, drafts a reply, is blocked from sending, auto-refunds the small charge and holds the large one', async () => {
    const { outcome, world, approvals, events, verification } = await runSupportTriage();
    const byTool = outcome.calls.map(({ tool, result }) => [tool, result.status]);
    expect(byTool).toEqual([
      ['gmail.read', 'ok'],
      ['jira.create_issue', 'ok'],
      ['gmail.draft', 'ok'],
      ['gmail.send', 'denied'],
      ['stripe.refund', 'ok'],
      ['stripe.refund', 'pending_approval'],
    ]);
    const send = outcome.calls[3]!.result;
    expect(send.status === 'denied' && send.decision?.ruleIds).toEqual(['gmail-no-send']);
    expect(world).toEqual({
      issues: 1,
      drafts: 1,
      sent: 0,
      refunds: [{ chargeId: 'ch_dup', amountCents: 2_499 }],
    });
    expect(approvals).toHaveLength(1);
    expect(approvals[0]).toMatchObject({
      status: 'pending',
      approvers: [{ role: 'finance', count: 2 }],
      input: { chargeId: 'ch_lamp', amountCents: 18_900 },
      ruleIds: ['large-refunds'],
    });
    expect(verification.ok).toBe(true);
    expect(verifyLedger(events).ok).toBe(true);
    expect(events.at(-1)!.type).toBe('run.ended');
  });
});
