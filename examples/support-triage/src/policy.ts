import { definePolicy, forbid, hasRole, permit, requireApproval } from '@custody/policy';

/**
 * The support team's policy, as code. Its id, version and hash are recorded with every decision.
 */
export const supportPolicy = definePolicy({ id: 'support', version: '2026-11-01' }, [
  permit({
    id: 'gmail-read-draft',
    tools: ['gmail.read', 'gmail.draft'],
    reason: 'agents may read the inbox and draft replies',
  }),
  forbid({
    id: 'gmail-no-send',
    tools: ['gmail.send'],
    reason: 'agents never email customers directly; a human sends the draft',
  }),
  permit({
    id: 'jira-issues',
    tools: ['jira.create_issue', 'jira.update_issue'],
    reason: 'agents file and update issues',
  }),
  forbid({
    id: 'jira-no-settings',
    tools: ['jira.settings.*'],
    reason: 'global Jira settings are for admins only',
  }),
  permit({ id: 'stripe-read', tools: ['stripe.get_charge'] }),
  permit({
    id: 'small-refunds',
    tools: ['stripe.refund'],
    params: { maxAutoCents: 5_000 },
    when: ({ input, params }) => (input as { amountCents: number }).amountCents <= params.maxAutoCents,
    reason: 'refunds up to $50 are automatic',
  }),
  requireApproval({
    id: 'large-refunds',
    tools: ['stripe.refund'],
    params: { maxAutoCents: 5_000 },
    when: ({ input, params }) => (input as { amountCents: number }).amountCents > params.maxAutoCents,
    approvers: { role: 'finance', count: 2 },
    reason: 'refunds above $50 need two people from finance',
  }),
  forbid({
    id: 'no-fraud-refunds-by-agents',
    tools: ['stripe.refund'],
    when: ({ input, onBehalfOf }) =>
      (input as { reason: string }).reason === 'fraudulent' && !(onBehalfOf && hasRole(onBehalfOf, 'risk')),
    reason: 'fraud refunds go through the risk team',
  }),
]);
