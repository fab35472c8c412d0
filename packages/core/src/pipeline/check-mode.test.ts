import { describe, expect, it } from 'vitest';
import { makeRuntime, startTriageRun } from '../../test/helpers.js';
import { EventTypes, readAll, verifyLedger } from '../index.js';

describe('check-mode: the kill switch and read-only mode', () => {
  it('read_only lets reads through and blocks writes; paused blocks everything; both are recorded', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const operator = { kind: 'user', id: 'oncall' } as const;
    const run = await startTriageRun(runtime);
    await runtime.setMode('read_only', { tenant: 'acme', actor: operator, reason: 'incident 42' });
    expect(await run.call('jira.get_issue', { id: 'X' })).toMatchObject({ status: 'ok' });
    const write = await run.call('jira.create_issue', { project: 'SUP', summary: 'x' });
    expect(write).toMatchObject({ status: 'denied', code: 'CUSTODY_MODE_BLOCKED' });
    expect(write.status === 'denied' && write.reason).toContain('read_only for tenant "acme"');
    expect(run.tools().map((tool) => tool.name)).toEqual(['jira.get_issue']);

    await runtime.setMode('paused', { actor: operator, reason: 'kill switch' });
    expect(await run.call('jira.get_issue', { id: 'X' })).toMatchObject({ code: 'CUSTODY_MODE_BLOCKED' });
    await runtime.setMode('normal', { actor: operator, reason: 'resolved' });
    await runtime.setMode('normal', { tenant: 'acme', actor: operator, reason: 'resolved' });
    expect(await run.call('jira.create_issue', { project: 'SUP', summary: 'x' })).toMatchObject({
      status: 'ok',
    });
    expect(calls).toEqual(['jira.get_issue', 'jira.create_issue']);

    const changes = await readAll(stores.ledger, { type: EventTypes.modeChanged });
    expect(changes.map((event) => (event.payload as { mode: string }).mode)).toEqual([
      'read_only',
      'paused',
      'normal',
      'normal',
    ]);
    expect(changes[0]!.actor).toBe('user:oncall');
    expect(verifyLedger(await readAll(stores.ledger)).ok).toBe(true);
  });

  it('can block one connector only', async () => {
    const { runtime } = makeRuntime();
    await runtime.setMode('paused', {
      connector: 'stripe',
      actor: { kind: 'user', id: 'ops' },
      reason: 'provider outage',
    });
    const run = await startTriageRun(runtime);
    expect(await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 })).toMatchObject({
      code: 'CUSTODY_MODE_BLOCKED',
    });
    expect(await run.call('jira.get_issue', { id: 'X' })).toMatchObject({ status: 'ok' });
  });
});
