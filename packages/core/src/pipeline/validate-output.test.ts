import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, simplePolicy, triageAgent } from '../../test/helpers.js';
import { createRuntime, defineTool, type LedgerEvent, readAll } from '../index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('validate-output: schemas, verification and compensation', () => {
  it('fails a call whose output breaks its schema, saying it did run', async () => {
    const liar = defineTool({
      name: 'crm.update',
      version: '1',
      effect: 'write',
      input: z.object({ id: z.string() }),
      output: z.object({ version: z.number() }),
      execute: () => ({ version: 'three' }) as never,
    });
    const runtime = createRuntime({ tools: [liar], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['crm.*'] },
      scope: { tenant: 't' },
    });
    const result = await run.call(liar, { id: '1' });
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_OUTPUT_INVALID', executed: true });
    expect(result.status === 'failed' && result.message).toContain('version');
  });

  it('records a verification mismatch and compensates', async () => {
    const log: string[] = [];
    const write = defineTool({
      name: 'crm.set_owner',
      version: '1',
      effect: 'write',
      input: z.object({ account: z.string(), owner: z.string() }),
      output: z.object({ ok: z.literal(true) }),
      execute: () => {
        log.push('execute');
        return { ok: true as const };
      },
      verify: () => ({ ok: false, details: { owner: 'someone-else' } }),
      compensate: () => {
        log.push('compensate');
      },
    });
    const runtime = createRuntime({ tools: [write], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['crm.*'] },
      scope: { tenant: 't' },
    });
    const result = await run.call(write, { account: 'a1', owner: 'bob' });
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_VERIFY_MISMATCH' });
    expect(result.status === 'failed' && result.message).toContain('compensated');
    expect(log).toEqual(['execute', 'compensate']);
    const events = await readAll(runtime.stores.ledger, { runId: run.runId });
    expect(types(events)).toContain('tool.compensated');
    expect(events.find((event) => event.type === 'tool.verified')?.payload).toMatchObject({
      ok: false,
      details: { owner: 'someone-else' },
    });
  });
});
