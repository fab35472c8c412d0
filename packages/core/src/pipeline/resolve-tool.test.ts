import { describe, expect, it } from 'vitest';
import { agentActor, makeRuntime, startTriageRun, triageAgent } from '../../test/helpers.js';
import { type LedgerEvent, readAll } from '../index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('resolve-tool: unknown tools and the allow-list', () => {
  it('denies a tool that is not registered, recording the request and the denial', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('jira.delete_everything', {});
    expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_TOOL_UNKNOWN' });
    expect(result.status === 'denied' && result.reason).toContain('not registered');
    expect(calls).toEqual([]);
    expect(types(await readAll(stores.ledger, { runId: run.runId })).slice(1)).toEqual([
      'tool.requested',
      'tool.denied',
    ]);
  });

  it('denies a registered tool that is not on the agent allow-list', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['jira.get_*'] },
      scope: { tenant: 'acme' },
    });
    const result = await run.call('jira.create_issue', { project: 'SUP', summary: 'x' });
    expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_TOOL_NOT_ALLOWED' });
    expect(calls).toEqual([]);
  });
});
