import { type AnyTool, createRuntime, defineTool, type ModelProvider, type Run } from '@custody/core';
import { definePolicy, forbid, permit, requireApproval } from '@custody/policy';
import { z } from 'zod';

/** Counts real executions, so tests can prove a replay ran no tool. */
export const executions: string[] = [];

export function makeTools(options: { refundVersion?: string; extraField?: boolean } = {}) {
  const lookup = defineTool({
    name: 'crm.lookup',
    version: '1.0.0',
    effect: 'read',
    input: z.object({ email: z.string() }),
    output: z.object({ customerId: z.string(), tier: z.string() }),
    execute: async ({ email }) => {
      executions.push('crm.lookup');
      return { customerId: `cus_${email.split('@')[0]}`, tier: 'gold' };
    },
  });
  const refundInput = options.extraField
    ? z.object({
        customerId: z.string(),
        amountCents: z.number().int().positive(),
        note: z.string().optional(),
      })
    : z.object({ customerId: z.string(), amountCents: z.number().int().positive() });
  const refund = defineTool({
    name: 'billing.refund',
    version: options.refundVersion ?? '2.0.0',
    effect: 'write',
    input: refundInput,
    output: z.object({ refundId: z.string() }),
    execute: async (input) => {
      executions.push('billing.refund');
      return { refundId: `re_${input.customerId}_${input.amountCents}` };
    },
  });
  const email = defineTool({
    name: 'mail.send',
    version: '1.0.0',
    effect: 'external_send',
    input: z.object({ to: z.string(), body: z.string() }),
    output: z.object({ id: z.string() }),
    execute: async () => {
      executions.push('mail.send');
      return { id: 'm1' };
    },
  });
  return [lookup, refund, email] as AnyTool[];
}

export const policy = definePolicy({ id: 'fixture', version: '1' }, [
  permit({ id: 'lookups', tools: ['crm.lookup'] }),
  permit({
    id: 'small-refunds',
    tools: ['billing.refund'],
    params: { max: 10_000 },
    when: ({ input, params }) => (input as { amountCents: number }).amountCents <= params.max,
  }),
  requireApproval({
    id: 'large-refunds',
    tools: ['billing.refund'],
    params: { max: 10_000 },
    when: ({ input, params }) => (input as { amountCents: number }).amountCents > params.max,
    approvers: { role: 'finance', count: 2 },
  }),
  forbid({ id: 'no-mail', tools: ['mail.send'] }),
]);

/** A scripted model: asks for the amount it was configured with, then stops. */
export function scriptedModel(): ModelProvider {
  return async (request) => {
    const turns = request.messages.length;
    return turns < 3 ? { toolCalls: [{ name: 'billing.refund', input: {} }] } : { text: 'done' };
  };
}

export interface AgentKnobs {
  amounts?: number[];
  templateVersion?: string;
  skipMail?: boolean;
  extraLookup?: boolean;
  tool?: string;
}

/** The agent under test: reads the clock, mints an id, retrieves, asks the model, calls tools. */
export function fixtureAgent(knobs: AgentKnobs = {}) {
  return async (run: Run) => {
    const started = run.now();
    const ticket = run.id();
    const docs = await run.retrieve('kb', 'refund rules', async () => [
      { id: 'kb/1', content: 'Refunds under $100 are automatic.', version: '3' },
    ]);
    const customer = await run.callOrThrow('crm.lookup', { email: 'dana@example.com' });
    if (knobs.extraLookup) await run.call('crm.lookup', { email: 'eve@example.com' });
    const plan = await run.model('planner', {
      model: 'fake-1',
      provider: 'fake',
      messages: [
        { role: 'user', content: `ticket ${ticket} at ${started.toISOString()} using ${docs[0]!.id}` },
      ],
      promptTemplate: { id: 'refunds', version: knobs.templateVersion ?? '1' },
    });
    const results = [];
    for (const amountCents of knobs.amounts ?? [2_500, 25_000]) {
      results.push(
        await run.call(knobs.tool ?? 'billing.refund', {
          customerId: (customer as { customerId: string }).customerId,
          amountCents,
        }),
      );
    }
    if (!knobs.skipMail)
      results.push(await run.call('mail.send', { to: 'dana@example.com', body: String(plan.text) }));
    return results.map((result) => result.status);
  };
}

/** Records one run of the fixture agent and returns the runtime's stores and run id. */
export async function recordFixtureRun(knobs: AgentKnobs = {}) {
  const runtime = createRuntime({
    tools: makeTools(),
    policy,
    model: async () => ({ text: 'refund approved by policy', usage: { inputTokens: 10, outputTokens: 4 } }),
  });
  const run = await runtime.startRun({
    actor: { kind: 'agent', id: 'refund-bot' },
    agent: { id: 'refund-bot', version: '1.0.0', tools: ['crm.*', 'billing.*', 'mail.*'] },
    scope: { tenant: 'acme' },
    metadata: { ticket: 'T-1' },
  });
  const statuses = await fixtureAgent(knobs)(run);
  await run.end({ outcome: 'succeeded' });
  return { runtime, runId: run.runId, statuses };
}
