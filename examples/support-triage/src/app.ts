import {
  type ApprovalRequest,
  createRuntime,
  type LedgerEvent,
  type LedgerVerification,
  type Run,
  type RuntimeStores,
  readAll,
  verifyLedger,
} from '@custody/core';
import { type Ticket, type TriageOutcome, triageAgent } from './agent.js';
import { createFakeGmail } from './connectors/gmail.js';
import { createFakeJira } from './connectors/jira.js';
import { createFakeStripe } from './connectors/stripe.js';
import { supportPolicy } from './policy.js';
import { createScriptedModel, triageScript } from './scripted-model.js';

/** Everything the example produced, for printing and for tests. */
export interface SupportTriageResult {
  readonly run: Run;
  readonly outcome: TriageOutcome;
  readonly events: readonly LedgerEvent[];
  readonly verification: LedgerVerification;
  readonly approvals: readonly ApprovalRequest[];
  readonly world: {
    readonly issues: number;
    readonly drafts: number;
    readonly sent: number;
    readonly refunds: readonly { chargeId: string; amountCents: number }[];
  };
}

/** The ticket the example triages. */
export const TICKET: Ticket = { messageId: 'msg_1001', subject: 'Charged twice and the lamp arrived broken' };

/** Every tool of the example's fake connectors, freshly made. */
export function createSupportTools() {
  const jira = createFakeJira();
  const gmail = createFakeGmail([
    {
      id: 'msg_1001',
      from: 'dana@example.com',
      subject: 'Charged twice and the lamp arrived broken',
      body: 'I was charged twice for order 5521 and the lamp is cracked. Please fix this.',
    },
  ]);
  const stripe = createFakeStripe({
    ch_dup: { customer: 'cus_dana', amountCents: 2_499 },
    ch_lamp: { customer: 'cus_dana', amountCents: 18_900 },
  });
  return { jira, gmail, stripe, tools: [...jira.tools, ...gmail.tools, ...stripe.tools] };
}

/**
 * Runs the support-triage agent once, offline: fake Jira, Gmail and Stripe in memory, a scripted
 * model, the support policy, and whatever stores are passed (memory by default).
 */
export async function runSupportTriage(
  options: { stores?: Partial<RuntimeStores> } = {},
): Promise<SupportTriageResult> {
  const { jira, gmail, stripe, tools } = createSupportTools();
  const model = createScriptedModel(triageScript);
  const runtime = createRuntime({
    tools,
    policy: supportPolicy,
    model,
    ...(options.stores ? { stores: options.stores } : {}),
  });

  const run = await runtime.startRun({
    actor: {
      kind: 'agent',
      id: 'support-triage',
      scopes: ['gmail:read', 'gmail:compose', 'jira:issues:write', 'stripe:read', 'stripe:refunds:write'],
    },
    onBehalfOf: { kind: 'user', id: 'sam@support.example.com', roles: ['support'] },
    agent: { id: 'support-triage', version: '0.3.0', tools: ['gmail.*', 'jira.*', 'stripe.*'] },
    scope: { tenant: 'acme', project: 'SUP', customer: 'cus_dana' },
    metadata: { ticket: { messageId: TICKET.messageId, subject: TICKET.subject }, channel: 'email' },
  });
  let outcome: TriageOutcome;
  try {
    outcome = await triageAgent(run, TICKET);
    await run.end({ outcome: 'succeeded' });
  } catch (error) {
    await run.end({ outcome: 'failed', reason: error instanceof Error ? error.message : String(error) });
    throw error;
  }
  const events = await readAll(runtime.stores.ledger, { runId: run.runId });
  return {
    run,
    outcome,
    events,
    verification: verifyLedger(events),
    approvals: await runtime.stores.approvals.list({ runId: run.runId }),
    world: {
      issues: jira.issues.size,
      drafts: gmail.drafts.length,
      sent: gmail.sent.length,
      refunds: [...stripe.refunds.values()].map(({ chargeId, amountCents }) => ({ chargeId, amountCents })),
    },
  };
}
