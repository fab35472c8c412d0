import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, makeRuntime, simplePolicy, startTriageRun, triageAgent } from '../test/helpers.js';
import {
  CustodyError,
  createRuntime,
  defineTool,
  EventTypes,
  type LedgerEvent,
  readAll,
  verifyLedger,
} from './index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('modes', () => {
  it('requires a reason and a valid mode', async () => {
    const { runtime } = makeRuntime();
    const actor = { kind: 'user', id: 'ops' } as const;
    await expect(runtime.setMode('off' as never, { actor, reason: 'x' })).rejects.toThrow(
      /mode must be one of/,
    );
    await expect(runtime.setMode('paused', { actor, reason: ' ' })).rejects.toThrow(/needs a reason/);
  });
});

describe('the other doors', () => {
  it('records model calls, retrieval, clock reads and ids', async () => {
    const { runtime, stores, clock } = makeRuntime({
      model: async (request) => ({
        text: `echo ${String((request.messages[0] as { content: string }).content)}`,
        usage: { inputTokens: 12, outputTokens: 3 },
        model: request.model,
      }),
    });
    const run = await startTriageRun(runtime);
    const reply = await run.model('planner', {
      model: 'fake-1',
      provider: 'fake',
      messages: [{ role: 'user', content: 'hi' }],
      promptTemplate: { id: 'triage', version: '3' },
    });
    expect(reply.text).toBe('echo hi');
    const docs = await run.retrieve('kb', 'refund policy', async () => [
      { id: 'doc-1', content: 'Refunds under $50 are automatic.', version: 'v7' },
    ]);
    expect(docs).toHaveLength(1);
    clock.advance(1000);
    expect(run.now().toISOString()).toBe('2026-01-01T00:00:01.000Z');
    expect(run.id()).toBe('id_0001');
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(types(events)).toEqual([
      'run.started',
      'model.called',
      'retrieval.performed',
      'clock.read',
      'id.generated',
      'run.ended',
    ]);
    expect(events[1]!.payload).toMatchObject({
      role: 'planner',
      request: { promptTemplate: { version: '3' } },
      response: { text: 'echo hi' },
    });
    expect(events[2]!.payload).toMatchObject({
      documents: [{ id: 'doc-1', version: 'v7', contentHash: expect.stringMatching(/^[0-9a-f]{64}$/) }],
    });
  });

  it('records a failed model call and rethrows', async () => {
    const { runtime, stores } = makeRuntime({
      model: async () => {
        throw new Error('rate limited');
      },
    });
    const run = await startTriageRun(runtime);
    await expect(run.model('planner', { model: 'm', messages: [] })).rejects.toThrow('rate limited');
    const [event] = await readAll(stores.ledger, { type: EventTypes.modelCalled });
    expect(event!.payload).toMatchObject({ error: { message: 'rate limited' } });
  });

  it('explains a missing model provider', async () => {
    const { runtime } = makeRuntime();
    const run = await startTriageRun(runtime);
    await expect(run.model('planner', { model: 'm', messages: [] })).rejects.toThrow(
      /pass `model` to createRuntime/,
    );
  });
});

describe('run lifecycle and errors', () => {
  it('ends once with a valid outcome and refuses further calls', async () => {
    const { runtime, stores } = makeRuntime();
    const run = await startTriageRun(runtime);
    await expect(run.end({ outcome: 'done' as never })).rejects.toThrow(
      /outcome must be one of succeeded, failed, abandoned, rolled_back/,
    );
    await run.end({ outcome: 'abandoned', reason: 'user went away' });
    await expect(run.call('jira.get_issue', { id: '1' })).rejects.toMatchObject({
      code: 'CUSTODY_RUN_ENDED',
    });
    await expect(run.end({ outcome: 'succeeded' })).rejects.toMatchObject({ code: 'CUSTODY_RUN_ENDED' });
    const last = (await readAll(stores.ledger, { runId: run.runId })).at(-1)!;
    expect(last.payload).toMatchObject({ outcome: 'abandoned', reason: 'user went away' });
  });

  it('validates startRun arguments with messages that say what to fix', async () => {
    const { runtime } = makeRuntime();
    await expect(
      runtime.startRun({
        actor: { kind: 'robot', id: 'x' } as never,
        agent: triageAgent,
        scope: { tenant: 't' },
      }),
    ).rejects.toThrow('startRun actor.kind must be one of user, service, workflow, agent, got "robot"');
    await expect(
      runtime.startRun({
        actor: agentActor,
        agent: { id: 'a', version: '1' } as never,
        scope: { tenant: 't' },
      }),
    ).rejects.toThrow(/agent.tools must list the tools/);
    await expect(
      runtime.startRun({ actor: agentActor, agent: triageAgent, scope: { tenant: '' } }),
    ).rejects.toThrow('startRun scope.tenant must be a non-empty string, got ""');
    await expect(
      runtime.startRun({
        actor: agentActor,
        agent: triageAgent,
        scope: { tenant: 't' },
        metadata: { at: new Date() },
      }),
    ).rejects.toThrow(/metadata must be plain JSON/);
  });

  it('callOrThrow returns output or throws a CustodyError with the outcome code', async () => {
    const { runtime } = makeRuntime({
      policy: simplePolicy((request) => ({
        effect: request.tool.name === 'stripe.refund' ? 'require_approval' : 'allow',
      })),
    });
    const run = await startTriageRun(runtime);
    await expect(run.callOrThrow('jira.get_issue', { id: 'none' })).resolves.toBeNull();
    const error = await run
      .callOrThrow('stripe.refund', { chargeId: 'c', amountCents: 5 })
      .catch((e: unknown) => e);
    expect(CustodyError.isInstance(error)).toBe(true);
    expect((error as CustodyError).code).toBe('CUSTODY_APPROVAL_REQUIRED');
    await expect(run.callOrThrow('nope.tool', {})).rejects.toMatchObject({ code: 'CUSTODY_TOOL_UNKNOWN' });
  });

  it('lists only the tools the agent may see, with JSON Schemas', async () => {
    const { runtime } = makeRuntime();
    const run = await runtime.startRun({
      actor: { kind: 'agent', id: 'bot' }, // no jira:write scope
      agent: triageAgent,
      scope: { tenant: 'acme' },
    });
    const tools = run.tools();
    expect(tools.map((tool) => tool.name)).toEqual(['jira.get_issue', 'stripe.refund']);
    expect(tools[1]!.inputSchema).toMatchObject({
      type: 'object',
      required: ['chargeId', 'amountCents'],
      additionalProperties: false,
    });
  });

  it('keeps parallel calls of one run on one linear, verifiable chain', async () => {
    const { runtime, stores } = makeRuntime();
    const run = await startTriageRun(runtime);
    await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        run.call('stripe.refund', { chargeId: `ch_${i}`, amountCents: i + 1 }),
      ),
    );
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(events.map((event) => event.seq)).toEqual(events.map((_, i) => i));
    expect(verifyLedger(events).ok).toBe(true);
  });
});

describe('redaction policy: secrets are never written', () => {
  it('masks configured fields in events, approval requests and stored results, but the tool sees them', async () => {
    const seen: string[] = [];
    const login = defineTool({
      name: 'vault.login',
      version: '1',
      effect: 'write',
      input: z.object({ user: z.string(), password: z.string() }),
      output: z.object({ session: z.object({ token: z.string() }) }),
      execute: (input) => {
        seen.push(input.password);
        return { session: { token: 'tok_SECRET_OUT' } };
      },
    });
    const approve = defineTool({ ...login, name: 'vault.rotate' });
    const runtime = createRuntime({
      tools: [login, approve],
      policy: simplePolicy((request) => ({
        effect: request.tool.name === 'vault.rotate' ? 'require_approval' : 'allow',
      })),
      redaction: { keys: ['password', 'TOKEN'] },
    });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['vault.*'] },
      scope: { tenant: 't' },
    });
    const result = await run.call(login, { user: 'bob', password: 'hunter2-SECRET-IN' });
    expect(result.status === 'ok' && result.output.session.token).toBe('tok_SECRET_OUT');
    expect(seen).toEqual(['hunter2-SECRET-IN']);
    await run.call(approve, { user: 'bob', password: 'hunter2-SECRET-IN' });
    // The stored idempotency result is masked too: repeating the call returns what was kept.
    const repeated = await run.call(login, { user: 'bob', password: 'hunter2-SECRET-IN' });
    expect(repeated).toMatchObject({
      status: 'ok',
      idempotencyHit: true,
      output: { session: { token: '[REDACTED]' } },
    });
    expect(seen).toHaveLength(1);
    await run.end({ outcome: 'succeeded' });
    const stored = JSON.stringify([
      await readAll(runtime.stores.ledger),
      await runtime.stores.approvals.list(),
    ]);
    expect(stored).not.toContain('SECRET');
    expect(stored).toContain('[REDACTED]');
    expect(verifyLedger(await readAll(runtime.stores.ledger)).ok).toBe(true);
  });

  it('rejects a malformed policy at once', () => {
    expect(() =>
      createRuntime({
        tools: [],
        policy: simplePolicy(() => ({ effect: 'allow' })),
        redaction: { keys: [''] },
      }),
    ).toThrow(/redaction.keys must be an array of property names/);
  });
});
