import { defineTool } from '@custody/core';
import { z } from 'zod';

/** A Stripe stand-in kept in memory. Refunds honour the idempotency key, as Stripe's API does. */
export function createFakeStripe(charges: Record<string, { customer: string; amountCents: number }>) {
  const refunds = new Map<string, { id: string; chargeId: string; amountCents: number }>();
  const byKey = new Map<string, string>();

  const getCharge = defineTool({
    name: 'stripe.get_charge',
    version: '1.0.0',
    effect: 'read',
    scopes: ['stripe:read'],
    description: 'Look up a charge.',
    input: z.object({ chargeId: z.string() }),
    output: z.object({ chargeId: z.string(), customer: z.string(), amountCents: z.number().int() }),
    execute: async ({ chargeId }) => {
      const charge = charges[chargeId];
      if (!charge) throw new Error(`no charge ${chargeId}`);
      return { chargeId, ...charge };
    },
  });

  const refund = defineTool({
    name: 'stripe.refund',
    version: '2.0.0',
    effect: 'write',
    scopes: ['stripe:refunds:write'],
    description: 'Refund part or all of a charge.',
    input: z.object({
      chargeId: z.string(),
      amountCents: z.number().int().positive(),
      reason: z.enum(['duplicate', 'fraudulent', 'requested_by_customer']),
    }),
    output: z.object({ refundId: z.string(), amountCents: z.number().int() }),
    resource: (input) => ({ customer: charges[input.chargeId]?.customer ?? 'unknown' }),
    execute: async (input, { idempotencyKey }) => {
      const replayed = idempotencyKey ? byKey.get(idempotencyKey) : undefined;
      if (replayed) return { refundId: replayed, amountCents: refunds.get(replayed)!.amountCents };
      const id = `re_${refunds.size + 1}`;
      refunds.set(id, { id, chargeId: input.chargeId, amountCents: input.amountCents });
      if (idempotencyKey) byKey.set(idempotencyKey, id);
      return { refundId: id, amountCents: input.amountCents };
    },
    verify: async ({ output }) => refunds.has(output.refundId),
  });

  return { refunds, tools: [getCharge, refund] };
}
