import { z } from 'zod';
import {
  createMemoryStores,
  createRuntime,
  defineTool,
  InMemoryIdempotencyStore,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
  type RuntimeOptions,
} from '../src/index.js';
import { createSequentialIds, FakeClock } from '../src/testing/index.js';

/** A hand-written policy for core's own tests (core cannot depend on @custody/policy). */
export function simplePolicy(
  decide: (request: PolicyRequest) => Pick<PolicyDecision, 'effect'> & Partial<PolicyDecision>,
): PolicyEngine {
  const ref = { id: 'test-policy', version: '1', hash: 'f'.repeat(64) };
  return {
    specificationVersion: 'v1',
    ref,
    decide: (request) => {
      const partial = decide(request);
      return {
        policy: ref,
        ruleIds: [`rule:${partial.effect}`],
        reasons: [`test says ${partial.effect}`],
        ...partial,
      };
    },
  };
}

export const allowAll = simplePolicy(() => ({ effect: 'allow' }));

export function makeTools() {
  const calls: string[] = [];
  const issues = new Map<string, { id: string; summary: string; project: string }>();
  const createIssue = defineTool({
    name: 'jira.create_issue',
    version: '1.0.0',
    effect: 'write',
    scopes: ['jira:write'],
    input: z.object({ project: z.string(), summary: z.string().min(1) }),
    output: z.object({ id: z.string() }),
    resource: (input) => ({ project: input.project }),
    execute: async (input) => {
      calls.push('jira.create_issue');
      const id = `ISSUE-${issues.size + 1}`;
      issues.set(id, { id, ...input });
      return { id };
    },
    verify: async ({ output }) => issues.has(output.id),
  });
  const getIssue = defineTool({
    name: 'jira.get_issue',
    version: '1.0.0',
    effect: 'read',
    input: z.object({ id: z.string() }),
    output: z.object({ id: z.string(), summary: z.string() }).nullable(),
    execute: async ({ id }) => {
      calls.push('jira.get_issue');
      const issue = issues.get(id);
      return issue ? { id: issue.id, summary: issue.summary } : null;
    },
  });
  const refund = defineTool({
    name: 'stripe.refund',
    version: '2.1.0',
    effect: 'write',
    input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
    output: z.object({ refundId: z.string() }),
    execute: async (input, context) => {
      calls.push(`stripe.refund:${context.idempotencyKey}`);
      return { refundId: `re_${input.chargeId}` };
    },
  });
  return { calls, issues, createIssue, getIssue, refund };
}

export function makeRuntime(overrides: Partial<RuntimeOptions> = {}) {
  const tools = makeTools();
  const stores = createMemoryStores();
  const clock = new FakeClock();
  const runtime = createRuntime({
    tools: [tools.createIssue, tools.getIssue, tools.refund],
    policy: allowAll,
    stores,
    clock,
    ids: createSequentialIds(),
    ...overrides,
  });
  return { runtime, stores, clock, ...tools };
}

export const agentActor = { kind: 'agent', id: 'triage-bot', scopes: ['jira:write'] } as const;
export const triageAgent = { id: 'triage-bot', version: '1.0.0', tools: ['jira.*', 'stripe.refund'] };

export function startTriageRun(
  runtime: ReturnType<typeof makeRuntime>['runtime'],
  extra: Record<string, unknown> = {},
) {
  return runtime.startRun({
    actor: agentActor,
    agent: triageAgent,
    scope: { tenant: 'acme', project: 'SUP' },
    ...extra,
  });
}

/** An idempotency store whose `claim` or `complete` always fails, the rest in memory. */
export function failingIdempotencyStore(method: 'claim' | 'complete') {
  const inner = new InMemoryIdempotencyStore();
  return {
    specificationVersion: 'v1' as const,
    claim: method === 'claim' ? async () => Promise.reject(new Error('redis down')) : inner.claim.bind(inner),
    complete:
      method === 'complete'
        ? async () => Promise.reject(new Error('redis down'))
        : inner.complete.bind(inner),
    release: inner.release.bind(inner),
  };
}
