import { describe, expect, it } from 'vitest';
import { makeRuntime, simplePolicy, startTriageRun } from '../test/helpers.js';
import { describeEvent, readAll, renderTimeline } from './index.js';

describe('renderTimeline', () => {
  it('tells the story of a run line by line, with the trace id', async () => {
    const { runtime, stores } = makeRuntime({
      policy: simplePolicy((request) =>
        request.tool.name === 'stripe.refund'
          ? {
              effect: 'require_approval',
              ruleIds: ['big-refund'],
              approvers: [{ role: 'finance', count: 2 }],
            }
          : { effect: 'allow' },
      ),
    });
    const run = await startTriageRun(runtime);
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
