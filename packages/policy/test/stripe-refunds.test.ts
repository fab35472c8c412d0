// Seed example: refunds under a configured threshold go through; larger ones need two people
// from finance.
import { defineTool } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePolicy, permit, requireApproval } from '../src/index.js';
import { createPolicyRequest } from '../src/testing/index.js';

const refund = defineTool({
  name: 'stripe.refund',
  version: '1.0.0',
  effect: 'write',
  scopes: ['stripe:refunds:write'],
  input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  execute: () => ({ refundId: 're_1' }),
});

/** The threshold is a param, not a captured variable, so changing it changes the policy hash. */
function refundPolicy(config: { autoApproveBelowCents: number }) {
  const params = { limitCents: config.autoApproveBelowCents };
  return definePolicy({ id: 'refunds', version: '1' }, [
    permit({
      id: 'refund-small',
      tools: [refund],
      params,
      when: ({ input, params }) => input.amountCents < params.limitCents,
      reason: 'small refunds are routine',
    }),
    requireApproval({
      id: 'refund-large',
      tools: [refund],
      params,
      when: ({ input, params }) => input.amountCents >= params.limitCents,
      approvers: { role: 'finance', count: 2 },
      reason: 'large refunds need two people from finance',
    }),
  ]);
}

const refundOf = (amountCents: number) =>
  createPolicyRequest({ tool: refund, input: { chargeId: 'ch_1', amountCents } });

describe('seed example: Stripe refunds', () => {
  const policy = refundPolicy({ autoApproveBelowCents: 10_000 });

  it('allows refunds under the threshold', () => {
    expect(policy.decide(refundOf(9_999))).toEqual({
      effect: 'allow',
      policy: policy.ref,
      ruleIds: ['refund-small'],
      reasons: ['small refunds are routine'],
    });
    expect(policy.decide(refundOf(1)).effect).toBe('allow');
  });

  it('requires two finance approvers at and above the threshold', () => {
    for (const amount of [10_000, 250_000]) {
      expect(policy.decide(refundOf(amount))).toEqual({
        effect: 'require_approval',
        policy: policy.ref,
        ruleIds: ['refund-large'],
        reasons: ['large refunds need two people from finance'],
        approvers: [{ role: 'finance', count: 2 }],
      });
    }
  });

  it('follows the configured threshold, and a new threshold is a new policy hash', () => {
    const strict = refundPolicy({ autoApproveBelowCents: 1_000 });
    expect(strict.decide(refundOf(5_000)).effect).toBe('require_approval');
    expect(policy.decide(refundOf(5_000)).effect).toBe('allow');
    expect(strict.ref.hash).not.toBe(policy.ref.hash);
    expect(refundPolicy({ autoApproveBelowCents: 10_000 }).ref.hash).toBe(policy.ref.hash);
  });
});
