import {
  createMemoryStores,
  createRuntime,
  defineTool,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
  type RuntimeOptions,
  readAll,
} from '@custody/core';
import { createSequentialIds, FakeClock } from '@custody/core/testing';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { describeEvent, renderTimeline } from './timeline.js';

/** A policy written inline (the CLI must not depend on @custody/policy). */
function inlinePolicy(
  decide: (request: PolicyRequest) => Pick<PolicyDecision, 'effect'> & Partial<PolicyDecision>,
) {
  const ref = { id: 'test-policy', version: '1', hash: 'f'.repeat(64) };
  const policy: PolicyEngine = {
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
  return policy;
}

const createIssue = defineTool({
  name: 'jira.create_issue',
  version: '1.0.0',
  effect: 'write',
  input: z.object({ project: z.string(), summary: z.string().min(1) }),
  output: z.object({ id: z.string() }),
  execute: () => ({ id: 'ISSUE-1' }),
});

const refund = defineTool({
  name: 'stripe.refund',
  version: '2.1.0',
  effect: 'write',
  input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  execute: (input) => ({ refundId: `re_${input.chargeId}` }),
});

const login = defineTool({
  name: 'vault.login',
  version: '1',
  effect: 'write',
  input: z.object({ user: z.string(), password: z.string() }),
  output: z.object({ session: z.string() }),
  execute: ({ user, password }) => {
    throw new Error(
      `invalid password "${password}" for ${user}; retry with header X-Api-Key: sk_live_LEAK42`,
    );
  },
});

async function startRun(options: Pick<RuntimeOptions, 'policy'> & Partial<RuntimeOptions>) {
  const stores = createMemoryStores();
  const runtime = createRuntime({
    tools: [createIssue, refund, login],
    stores,
    clock: new FakeClock(),
    ids: createSequentialIds(),
    ...options,
  });
  const run = await runtime.startRun({
    actor: { kind: 'agent', id: 'triage-bot' },
    agent: { id: 'triage-bot', version: '1.0.0', tools: ['jira.*', 'stripe.refund', 'vault.*'] },
    scope: { tenant: 'acme', project: 'SUP' },
  });
  return { stores, run };
}

describe('renderTimeline', () => {
  it('tells the story of a run line by line, with the trace id', async () => {
    const { stores, run } = await startRun({
      policy: inlinePolicy((request) =>
        request.tool.name === 'stripe.refund'
          ? {
              effect: 'require_approval',
              ruleIds: ['big-refund'],
              approvers: [{ role: 'finance', count: 2 }],
            }
          : { effect: 'allow' },
      ),
    });
    await run.call('jira.create_issue', { project: 'SUP', summary: 'Printer on fire' });
    await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 90_000 });
    await run.call('jira.create_issue', { project: 'SUP', summary: '' });
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger, { runId: run.runId });
    const text = renderTimeline(events);
    expect(text.split('\n')[0]).toBe(`run ${run.runId}  trace ${run.traceId}  tenant acme`);
    expect(text).toContain('jira.create_issue requested with {"project":"SUP","summary":"Printer on fire"}');
    expect(text).toContain('jira.create_issue → ALLOW by test-policy@1 [rule:allow]');
    expect(text).toContain('jira.create_issue returned {"id":"ISSUE-1"}');
    expect(text).toMatch(/stripe.refund waits for approval approval_0001 \(2× finance\)/);
    expect(text).toContain('jira.create_issue input rejected: summary:');
    expect(text).toContain('run ended: succeeded, 3 tool call(s)');
    expect(renderTimeline(events, { color: true })).toContain('\u001b[');
  });

  it('shows a failed call with its secrets masked', async () => {
    const { stores, run } = await startRun({
      policy: inlinePolicy(() => ({ effect: 'allow' })),
      redaction: { keys: ['password'] },
    });
    const result = await run.call(login, { user: 'bob', password: 'WRONG-pw-SECRET' });
    expect(result.status).toBe('failed');
    await run.end({ outcome: 'failed' });
    const text = renderTimeline(await readAll(stores.ledger));
    expect(text).toContain('vault.login FAILED');
    expect(text).not.toContain('SECRET');
    expect(text).not.toContain('LEAK42');
    expect(text).toContain('[REDACTED]');
  });

  it('says when a payload was redacted', () => {
    const entry = describeEvent({
      schemaVersion: 1,
      id: 's:0',
      stream: 's',
      seq: 0,
      runId: 's',
      traceId: null,
      spanId: null,
      ts: '2026-01-01T00:00:00.000Z',
      type: 'tool.result',
      tenant: 't',
      actor: 'agent:a',
      payloadHash: '0'.repeat(64),
      prevHash: '0'.repeat(64),
      hash: '0'.repeat(64),
      payload: null,
      salt: null,
    });
    expect(entry.summary).toBe('tool.result (payload redacted)');
  });
});
