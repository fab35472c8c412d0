import { describe, expect, it } from 'vitest';
import { agentActor, makeRuntime, startTriageRun, triageAgent } from '../../test/helpers.js';

describe('authorize: scopes and resource scope', () => {
  it('denies a call whose resource is outside the run scope', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await startTriageRun(runtime); // bound to project SUP
    const result = await run.call('jira.create_issue', { project: 'FINANCE', summary: 'sneaky' });
    expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_RESOURCE_OUT_OF_SCOPE' });
    expect(result.status === 'denied' && result.reason).toContain('project "FINANCE"');
    expect(calls).toEqual([]);
  });

  it('denies a tool whose required scope the actor lacks, and one the represented user lacks', async () => {
    const { runtime } = makeRuntime();
    const noScopes = await runtime.startRun({
      actor: { kind: 'agent', id: 'bot' },
      agent: triageAgent,
      scope: { tenant: 'acme' },
    });
    expect(await noScopes.call('jira.create_issue', { project: 'SUP', summary: 'x' })).toMatchObject({
      status: 'denied',
      code: 'CUSTODY_SCOPE_MISSING',
    });
    const forUser = await runtime.startRun({
      actor: agentActor,
      onBehalfOf: { kind: 'user', id: 'alice', scopes: ['jira:read'] },
      agent: triageAgent,
      scope: { tenant: 'acme' },
    });
    const result = await forUser.call('jira.create_issue', { project: 'SUP', summary: 'x' });
    expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_SCOPE_MISSING' });
    expect(result.status === 'denied' && result.reason).toContain('user:alice');
  });
});
