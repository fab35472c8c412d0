// The README quickstart, verbatim apart from the import of the app's billing function.
import { createRuntime, defineTool } from '@custody/core';
import { definePolicy, permit, requireApproval } from '@custody/policy';
import { createSqliteStores } from '@custody/store-sqlite';
import { z } from 'zod';
import { refundCharge } from './billing.js'; // your existing function

const refund = defineTool({
  name: 'stripe.refund',
  version: '1.0.0',
  effect: 'write',
  scopes: ['stripe:refunds:write'],
  input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  execute: (input, { idempotencyKey }) => refundCharge(input, { idempotencyKey }),
});

const policy = definePolicy({ id: 'billing', version: '1' }, [
  permit({ id: 'small', tools: [refund], when: ({ input }) => input.amountCents <= 5_000 }),
  requireApproval({
    id: 'large',
    tools: [refund],
    when: ({ input }) => input.amountCents > 5_000,
    approvers: { role: 'finance', count: 2 },
  }),
]);

const stores = createSqliteStores({ path: process.env.CUSTODY_DB ?? './.custody/ledger.db' });
const runtime = createRuntime({ tools: [refund], policy, stores });
const run = await runtime.startRun({
  actor: { kind: 'agent', id: 'billing-bot', scopes: ['stripe:refunds:write'] },
  agent: { id: 'billing-bot', version: '1.0.0', tools: ['stripe.*'] },
  scope: { tenant: 'acme' },
});
const result = await run.call(refund, { chargeId: 'ch_1', amountCents: 1_200 });
// result.status: 'ok' | 'denied' | 'invalid' | 'pending_approval' | 'failed' — hand it to the model
await run.end({ outcome: 'succeeded' });
await stores.close();

console.log(
  result.status === 'ok' ? `refunded: ${result.output.refundId}` : `not refunded: ${result.status}`,
);

export { result };
