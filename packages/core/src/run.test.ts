import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, makeRuntime, simplePolicy, startTriageRun, triageAgent } from '../test/helpers.js';
import {
  CustodyError,
  createRuntime,
  defineTool,
  EventTypes,
  InMemoryApprovalStore,
  InMemoryIdempotencyStore,
  InMemoryLedgerStore,
  type LedgerEvent,
  readAll,
  verifyLedger,
} from './index.js';

const types = (events: readonly LedgerEvent[]) => events.map((event) => event.type);

describe('run.call: the gated pipeline', () => {
  it('executes an allowed write and records requested → decided → attempt → verified → result', async () => {
    const { runtime, stores, issues } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('jira.create_issue', { project: 'SUP', summary: 'Printer on fire' });
    expect(result).toMatchObject({
      status: 'ok',
      output: { id: 'ISSUE-1' },
      idempotencyHit: false,
      verification: { ok: true },
    });
    expect(issues.size).toBe(1);
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(types(events)).toEqual([
      'run.started',
      'tool.requested',
      'policy.decided',
      'tool.attempt',
      'tool.verified',
      'tool.result',
      'run.ended',
    ]);
    expect(new Set(events.map((event) => event.traceId))).toEqual(new Set([run.traceId]));
    expect(events[0]!.payload).toMatchObject({
      tools: expect.arrayContaining([
        expect.objectContaining({
          name: 'stripe.refund',
          version: '2.1.0',
          inputSchemaHash: expect.stringMatching(/^[0-9a-f]{64}$/),
        }),
      ]),
    });
    expect(events[2]!.payload).toMatchObject({
      effect: 'allow',
      policy: { id: 'test-policy', version: '1' },
      ruleIds: ['rule:allow'],
    });
    expect(verifyLedger(events)).toMatchObject({ ok: true, events: 7 });
  });

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

  it('rejects invalid and unknown-key input with issues the model can use, executing nothing', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: -5, note: 'extra' });
    expect(result.status).toBe('invalid');
    if (result.status !== 'invalid') return;
    expect(result.code).toBe('CUSTODY_INPUT_INVALID');
    expect(result.message).toMatch(/^tool "stripe.refund" input is invalid: /);
    expect(result.issues.map((issue) => issue.path)).toEqual(expect.arrayContaining(['amountCents']));
    expect(result.issues.some((issue) => issue.code === 'unrecognized_keys')).toBe(true);
    expect(calls).toEqual([]);
    const events = await readAll(stores.ledger, { runId: run.runId });
    expect(types(events).slice(1)).toEqual(['tool.requested', 'tool.input_rejected']);
    expect(events[1]!.payload).toMatchObject({ input: { amountCents: -5, note: 'extra' } });
  });

  it('rejects input that JSON cannot record (a BigInt) at the call, before anything runs', async () => {
    const bigTool = defineTool({
      name: 'ledger.post',
      version: '1',
      effect: 'write',
      input: z.object({ amount: z.bigint() }),
      output: z.object({ ok: z.boolean() }),
      execute: () => ({ ok: true }),
    });
    const runtime = createRuntime({ tools: [bigTool], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['*'] },
      scope: { tenant: 'acme' },
    });
    const result = await run.call(bigTool, { amount: 10n });
    expect(result).toMatchObject({ status: 'invalid', code: 'CUSTODY_CANONICAL_INVALID' });
    await run.end({ outcome: 'failed' });
    expect(verifyLedger(await readAll(runtime.stores.ledger)).ok).toBe(true);
  });

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

  it('denies what the policy denies and explains it', async () => {
    const { runtime, calls } = makeRuntime({
      policy: simplePolicy((request) =>
        request.tool.name === 'stripe.refund'
          ? { effect: 'deny', ruleIds: ['no-refunds'], reasons: ['refunds are frozen'] }
          : { effect: 'allow' },
      ),
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 100 });
    expect(result).toMatchObject({
      status: 'denied',
      code: 'CUSTODY_POLICY_DENIED',
      reason: 'refunds are frozen',
      decision: { ruleIds: ['no-refunds'] },
    });
    expect(calls).toEqual([]);
  });

  it('fails closed when the policy throws or answers nonsense', async () => {
    for (const decide of [
      () => {
        throw new Error('rule engine down');
      },
      () => ({ effect: 'maybe' }),
    ]) {
      const { runtime, calls } = makeRuntime({
        policy: {
          specificationVersion: 'v1',
          ref: { id: 'p', version: '1', hash: 'h' },
          decide: decide as never,
        },
      });
      const run = await startTriageRun(runtime);
      const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 100 });
      expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_POLICY_ERROR' });
      expect(calls).toEqual([]);
    }
  });

  it('creates a durable approval request bound to an action digest, executing nothing', async () => {
    const { runtime, stores, calls, clock } = makeRuntime({
      policy: simplePolicy(() => ({
        effect: 'require_approval',
        ruleIds: ['big-refund'],
        approvers: [{ role: 'finance', count: 2 }],
      })),
      approvalTtlMs: 60_000,
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_000 });
    expect(result.status).toBe('pending_approval');
    if (result.status !== 'pending_approval') return;
    expect(result.approval.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(result.approval.approvers).toEqual([{ role: 'finance', count: 2 }]);
    expect(result.approval.expiresAt).toBe(new Date(clock.now() + 60_000).toISOString());
    expect(calls).toEqual([]);
    const stored = await stores.approvals.get(result.approval.id);
    expect(stored).toMatchObject({
      status: 'pending',
      digest: result.approval.digest,
      requestedBy: 'agent:triage-bot',
      input: { chargeId: 'ch_9', amountCents: 90_000 },
      tool: { name: 'stripe.refund', version: '2.1.0' },
    });
    // The same action yields the same digest; a different amount does not.
    const again = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_000 });
    const other = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_001 });
    expect(again.status === 'pending_approval' && again.approval.digest).toBe(result.approval.digest);
    expect(other.status === 'pending_approval' && other.approval.digest).not.toBe(result.approval.digest);
    const events = await readAll(stores.ledger, { type: EventTypes.approvalRequested });
    expect(events).toHaveLength(3);
  });
});

describe('idempotency', () => {
  it('never executes the same write twice in a run; the second call returns the stored result', async () => {
    const { runtime, stores, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    const first = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 500 });
    const second = await run.call('stripe.refund', { amountCents: 500, chargeId: 'ch_1' });
    expect(first).toMatchObject({ status: 'ok', idempotencyHit: false });
    expect(second).toMatchObject({ status: 'ok', idempotencyHit: true, output: { refundId: 're_ch_1' } });
    expect(calls).toHaveLength(1);
    expect(await readAll(stores.ledger, { type: EventTypes.idempotencyHit })).toHaveLength(1);
  });

  it('passes the key to the tool and honours an explicit key across runs', async () => {
    const { runtime, calls } = makeRuntime();
    const a = await startTriageRun(runtime);
    const b = await startTriageRun(runtime);
    await a.call('stripe.refund', { chargeId: 'ch_2', amountCents: 10 }, { idempotencyKey: 'refund-ch_2' });
    const again = await b.call(
      'stripe.refund',
      { chargeId: 'ch_2', amountCents: 10 },
      { idempotencyKey: 'refund-ch_2' },
    );
    expect(again).toMatchObject({ status: 'ok', idempotencyHit: true });
    expect(calls).toEqual(['stripe.refund:refund-ch_2']);
  });

  it('rejects the same key with different input as a conflict', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('stripe.refund', { chargeId: 'ch_3', amountCents: 10 }, { idempotencyKey: 'k' });
    const result = await run.call(
      'stripe.refund',
      { chargeId: 'ch_3', amountCents: 99 },
      { idempotencyKey: 'k' },
    );
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_IDEMPOTENCY_CONFLICT', executed: false });
    expect(calls).toHaveLength(1);
  });

  it('lets exactly one of many concurrent identical calls execute', async () => {
    let executions = 0;
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const slow = defineTool({
      name: 'bank.transfer',
      version: '1',
      effect: 'write',
      input: z.object({ to: z.string(), cents: z.number().int() }),
      output: z.object({ ok: z.boolean() }),
      execute: async () => {
        executions++;
        await gate;
        return { ok: true };
      },
    });
    const runtime = createRuntime({ tools: [slow], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['bank.*'] },
      scope: { tenant: 't' },
    });
    const pending = Array.from({ length: 5 }, () => run.call(slow, { to: 'bob', cents: 100 }));
    await new Promise((resolve) => setImmediate(resolve));
    release();
    const results = await Promise.all(pending);
    expect(executions).toBe(1);
    expect(results.filter((result) => result.status === 'ok')).toHaveLength(1);
    expect(
      results.filter(
        (result) => result.status === 'failed' && result.code === 'CUSTODY_IDEMPOTENCY_IN_PROGRESS',
      ),
    ).toHaveLength(4);
    await run.end({ outcome: 'succeeded' });
    expect(verifyLedger(await readAll(runtime.stores.ledger)).ok).toBe(true);
  });

  it('keeps a failed execution under its key instead of running it again', async () => {
    let executions = 0;
    const flaky = defineTool({
      name: 'mail.send',
      version: '1',
      effect: 'external_send',
      input: z.object({ to: z.string() }),
      output: z.object({ id: z.string() }),
      execute: () => {
        executions++;
        throw new Error('SMTP timeout');
      },
    });
    const runtime = createRuntime({ tools: [flaky], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['mail.*'] },
      scope: { tenant: 't' },
    });
    const first = await run.call(flaky, { to: 'a@b.c' });
    expect(first).toMatchObject({ status: 'failed', code: 'CUSTODY_EXECUTION_FAILED', executed: true });
    expect(first.status === 'failed' && first.message).toContain('SMTP timeout');
    const second = await run.call(flaky, { to: 'a@b.c' });
    expect(second).toMatchObject({ status: 'failed', executed: false });
    expect(second.status === 'failed' && second.message).toContain('pass a new idempotencyKey');
    expect(executions).toBe(1);
    const fresh = await run.call(flaky, { to: 'a@b.c' }, { idempotencyKey: 'retry-1' });
    expect(fresh.status === 'failed' && fresh.executed).toBe(true);
    expect(executions).toBe(2);
  });

  it('re-runs reads freely', async () => {
    const { runtime, calls } = makeRuntime();
    const run = await startTriageRun(runtime);
    await run.call('jira.get_issue', { id: 'ISSUE-1' });
    await run.call('jira.get_issue', { id: 'ISSUE-1' });
    expect(calls).toEqual(['jira.get_issue', 'jira.get_issue']);
  });

  it('validates explicit keys', async () => {
    const { runtime } = makeRuntime();
    const run = await startTriageRun(runtime);
    await expect(
      run.call('stripe.refund', { chargeId: 'c', amountCents: 1 }, { idempotencyKey: 'x'.repeat(256) }),
    ).rejects.toThrow(/at most 255 characters/);
  });
});

describe('outputs, verification and compensation', () => {
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

  it('passes an abort signal to the tool and reports an aborted call', async () => {
    const waits = defineTool({
      name: 'slow.read',
      version: '1',
      effect: 'read',
      input: z.object({}),
      output: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted by caller'))),
        ),
    });
    const runtime = createRuntime({ tools: [waits], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['slow.*'] },
      scope: { tenant: 't' },
    });
    const controller = new AbortController();
    const pending = run.call(waits, {}, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await pending).toMatchObject({ status: 'failed', code: 'CUSTODY_ABORTED' });
    const before = new AbortController();
    before.abort();
    expect(await run.call(waits, {}, { signal: before.signal })).toMatchObject({
      code: 'CUSTODY_ABORTED',
      executed: false,
    });
  });
});

describe('ledger failures lose nothing and execute nothing', () => {
  it.each([
    ['a store that appends asynchronously', false],
    ['a store that appends synchronously', true],
  ])(
    'does not execute when the write-ahead record cannot be stored, and writes it later (%s)',
    async (_, sync) => {
      const ledger = new InMemoryLedgerStore();
      let failNext = false;
      const append = (events: readonly LedgerEvent[]) => {
        if (failNext) throw new Error('disk full');
        ledger.appendSync(events);
      };
      const flaky = {
        specificationVersion: 'v1' as const,
        head: (stream: string) => ledger.head(stream),
        read: (query?: Parameters<InMemoryLedgerStore['read']>[0]) => ledger.read(query),
        append: async (events: readonly LedgerEvent[]) => append(events),
        ...(sync ? { appendSync: append } : {}),
      };
      const { runtime, calls } = makeRuntime({ stores: { ledger: flaky } });
      const run = await startTriageRun(runtime);
      failNext = true;
      const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 1 });
      expect(result).toMatchObject({
        status: 'failed',
        code: 'CUSTODY_LEDGER_WRITE_FAILED',
        executed: false,
      });
      expect(calls).toEqual([]);
      failNext = false;
      // The key was released, so the call can run now; the queued events are written first.
      const retry = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 1 });
      expect(retry).toMatchObject({ status: 'ok', idempotencyHit: false });
      await run.end({ outcome: 'succeeded' });
      const events = ledger.all();
      expect(verifyLedger(events).ok).toBe(true);
      expect(types(events).filter((type) => type === 'tool.requested')).toHaveLength(2);
    },
  );
});

describe('modes', () => {
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

describe('store failures never throw out of run.call', () => {
  const failing = (method: 'claim' | 'complete') => {
    const inner = new InMemoryIdempotencyStore();
    return {
      specificationVersion: 'v1' as const,
      claim:
        method === 'claim' ? async () => Promise.reject(new Error('redis down')) : inner.claim.bind(inner),
      complete:
        method === 'complete'
          ? async () => Promise.reject(new Error('redis down'))
          : inner.complete.bind(inner),
      release: inner.release.bind(inner),
    };
  };

  it('does not execute when the key cannot be claimed', async () => {
    const { runtime, calls } = makeRuntime({ stores: { idempotency: failing('claim') } });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({
      status: 'failed',
      code: 'CUSTODY_STORE_ERROR',
      executed: false,
      retryable: true,
    });
    expect(result.status === 'failed' && result.message).toContain('redis down');
    expect(calls).toEqual([]);
    expect((await readAll(runtime.stores.ledger, { type: 'tool.result' }))[0]!.payload).toMatchObject({
      executed: false,
    });
  });

  it('returns the real outcome and records the failure when the result cannot be stored under its key', async () => {
    const { runtime } = makeRuntime({ stores: { idempotency: failing('complete') } });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({ status: 'ok', output: { refundId: 're_c' } });
    const [event] = await readAll(runtime.stores.ledger, { type: EventTypes.idempotencyStoreFailed });
    expect(event!.payload).toMatchObject({ error: 'redis down', tool: 'stripe.refund' });
  });

  it('answers failed when the approval request cannot be stored', async () => {
    const approvals = new InMemoryApprovalStore();
    approvals.create = async () => Promise.reject(new Error('db locked'));
    const { runtime, calls } = makeRuntime({
      stores: { approvals },
      policy: simplePolicy(() => ({
        effect: 'require_approval',
        approvers: [{ role: 'finance', count: 1 }],
      })),
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_STORE_ERROR', executed: false });
    expect(calls).toEqual([]);
  });
});
