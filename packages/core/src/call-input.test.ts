import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, simplePolicy, triageAgent } from '../test/helpers.js';
import { createRuntime, defineTool, EventTypes, readAll } from './index.js';
import { canonicalize } from './ledger/index.js';

/**
 * The attack of issue 8 item 1: the caller keeps a reference to the input it passed and changes it
 * while the call is in flight. Whatever it does, the policy, the resource check, the tool, verify,
 * compensate and the ledger must all see the one value that was validated and recorded.
 */
describe('the checked input is the executed input', () => {
  function setup() {
    const seen: Record<string, string[]> = {
      policy: [],
      resource: [],
      execute: [],
      verify: [],
      compensate: [],
    };
    const pay = defineTool({
      name: 'bank.pay',
      version: '1',
      effect: 'write',
      input: z.object({
        meta: z.any(),
        lines: z.array(z.unknown()),
        tags: z.record(z.string(), z.unknown()),
      }),
      output: z.object({ paid: z.unknown() }),
      resource: (input) => {
        seen.resource!.push(canonicalize(input));
        return { tenant: (input.meta as { tenant: string }).tenant };
      },
      execute: async (input) => {
        seen.execute!.push(canonicalize(input));
        return { paid: (input.meta as { amount: number }).amount };
      },
      verify: async ({ input }) => {
        seen.verify!.push(canonicalize(input));
        return false;
      },
      compensate: async ({ input }) => {
        seen.compensate!.push(canonicalize(input));
      },
    });
    const runtime = createRuntime({
      tools: [pay],
      policy: simplePolicy((request) => {
        seen.policy!.push(canonicalize(request.input));
        const amount = (request.input as { meta: { amount: number } }).meta.amount;
        return { effect: amount <= 50 ? 'allow' : 'deny' };
      }),
    });
    return { runtime, pay, seen };
  }

  const attacks: [string, (run: () => Promise<void>) => Promise<void>][] = [
    ['synchronously after call() returns', async (mutate) => mutate()],
    ['after a microtask', async (mutate) => Promise.resolve().then(mutate)],
    ['after a macrotask', async (mutate) => new Promise((resolve) => setImmediate(resolve)).then(mutate)],
  ];

  for (const [when, schedule] of attacks) {
    it(`ignores nested objects, arrays and records changed ${when}`, async () => {
      const { runtime, pay, seen } = setup();
      const run = await runtime.startRun({
        actor: agentActor,
        agent: { ...triageAgent, tools: ['bank.*'] },
        scope: { tenant: 'acme' },
      });
      const input = {
        meta: { amount: 50, tenant: 'acme' },
        lines: [{ amount: 50 }],
        tags: { note: { text: 'ok' } } as Record<string, unknown>,
      };
      const pending = run.call(pay, input);
      await schedule(async () => {
        input.meta.amount = 1e9;
        input.meta.tenant = 'globex';
        (input.lines[0] as { amount: number }).amount = 1e9;
        input.lines.push({ amount: 7 });
        (input.tags.note as { text: string }).text = 'changed';
        input.tags.extra = true;
      });
      const result = await pending;
      expect(result.status).toBe('failed'); // verify answered false: compensated
      const expected = canonicalize({
        lines: [{ amount: 50 }],
        meta: { amount: 50, tenant: 'acme' },
        tags: { note: { text: 'ok' } },
      });
      expect(seen).toEqual({
        policy: [expected],
        resource: [expected],
        execute: [expected],
        verify: [expected],
        compensate: [expected],
      });
      const [requested] = await readAll(runtime.stores.ledger, { type: EventTypes.toolRequested });
      expect(canonicalize((requested!.payload as { input: unknown }).input)).toBe(expected);
    });
  }

  it('hands app code a frozen value: a tool cannot change what verify and the ledger see', async () => {
    const errors: string[] = [];
    const tool = defineTool({
      name: 'bank.pay',
      version: '1',
      effect: 'write',
      input: z.object({ meta: z.any() }),
      output: z.object({ ok: z.boolean() }),
      execute: async (input) => {
        try {
          (input.meta as { amount: number }).amount = 2;
        } catch (error) {
          errors.push((error as Error).constructor.name);
        }
        return { ok: true };
      },
      verify: async ({ input }) => (input.meta as { amount: number }).amount === 1,
    });
    const runtime = createRuntime({ tools: [tool], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['bank.*'] },
      scope: { tenant: 'acme' },
    });
    const result = await run.call(tool, { meta: { amount: 1 } });
    expect(errors).toEqual(['TypeError']);
    expect(result).toMatchObject({ status: 'ok', verification: { ok: true } });
  });

  it('hands verify and compensate a frozen copy of the output, and the agent its own copy', async () => {
    const kept: { value?: { items: number[] } } = {};
    const verified: string[] = [];
    const tool = defineTool({
      name: 'shop.order',
      version: '1',
      effect: 'write',
      input: z.object({}),
      output: z.object({ items: z.array(z.number()) }),
      execute: async () => {
        kept.value = { items: [1] };
        return kept.value;
      },
      verify: async ({ output }) => {
        kept.value!.items.push(99); // the tool's own object changes after it returned
        verified.push(canonicalize(output));
        expect(Object.isFrozen(output)).toBe(true);
        return true;
      },
    });
    const runtime = createRuntime({ tools: [tool], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['shop.*'] },
      scope: { tenant: 'acme' },
    });
    const result = await run.call(tool, {});
    expect(verified).toEqual(['{"items":[1]}']);
    expect(result.status === 'ok' && result.output).toEqual({ items: [1] });
    const [recorded] = await readAll(runtime.stores.ledger, { type: EventTypes.toolResult });
    expect((recorded!.payload as { output: unknown }).output).toEqual({ items: [1] });
  });

  it('sends the model the request the ledger records, whatever the caller changes meanwhile', async () => {
    const sent: string[] = [];
    const runtime = createRuntime({
      tools: [],
      policy: simplePolicy(() => ({ effect: 'allow' })),
      model: async (request) => {
        await new Promise((resolve) => setImmediate(resolve));
        sent.push(canonicalize(request));
        return { text: 'ok' };
      },
    });
    const run = await runtime.startRun({ actor: agentActor, agent: triageAgent, scope: { tenant: 'acme' } });
    const messages = [{ role: 'user', content: 'refund 50' }];
    const pending = run.model('planner', { model: 'm-1', messages });
    messages[0]!.content = 'refund 1e9';
    await pending;
    const [called] = await readAll(runtime.stores.ledger, { type: EventTypes.modelCalled });
    const recorded = canonicalize((called!.payload as { request: unknown }).request);
    expect(sent).toEqual([recorded]);
    expect(recorded).toContain('refund 50');
  });

  it('snapshots run metadata: the policy sees what run.started recorded', async () => {
    const seen: unknown[] = [];
    const tool = defineTool({
      name: 'x.read',
      version: '1',
      effect: 'read',
      input: z.object({}),
      output: z.null(),
      execute: () => null,
    });
    const runtime = createRuntime({
      tools: [tool],
      policy: simplePolicy((request) => {
        seen.push(canonicalize(request.run.metadata));
        return { effect: 'allow' };
      }),
    });
    const metadata = { ticket: { id: 'T-1' } };
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['x.*'] },
      scope: { tenant: 'acme' },
      metadata,
    });
    metadata.ticket.id = 'T-2';
    await run.call(tool, {});
    expect(seen).toEqual(['{"ticket":{"id":"T-1"}}']);
    expect(run.metadata).toEqual({ ticket: { id: 'T-1' } });
  });
});

describe('clear errors at the edges of an input', () => {
  const any = defineTool({
    name: 'x.any',
    version: '1',
    effect: 'write',
    input: z.object({ value: z.any() }),
    output: z.unknown(),
    execute: ({ value }) => ({ echoed: value }),
  });
  async function start(
    options: Parameters<typeof createRuntime>[0] extends infer O ? Partial<O> : never = {},
  ) {
    const runtime = createRuntime({
      tools: [any],
      policy: simplePolicy(() => ({ effect: 'allow' })),
      ...options,
    });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['x.*'] },
      scope: { tenant: 'acme' },
    });
    return { runtime, run };
  }
  const nested = (depth: number): unknown => {
    let value: unknown = 'leaf';
    for (let i = 0; i < depth; i++) value = { next: value };
    return value;
  };

  it('refuses a pathologically deep input by name, and records the request', async () => {
    const { runtime, run } = await start();
    const result = await run.call(any, { value: nested(100_000) });
    expect(result).toMatchObject({ status: 'invalid', code: 'CUSTODY_INPUT_INVALID' });
    const message = result.status === 'invalid' ? result.message : '';
    expect(message).toMatch(/nests deeper than 256 levels/);
    expect(message).toMatch(/limits\.maxInputDepth/);
    expect(message).not.toMatch(/call stack/i);
    const events = await readAll(runtime.stores.ledger, { runId: run.runId });
    expect(events.map((event) => event.type)).toContain(EventTypes.inputRejected);
    expect(JSON.stringify(events)).not.toMatch(/call stack/i);
  });

  it('takes inputs up to the depth limit, and the limit is configurable', async () => {
    const { run } = await start();
    expect((await run.call(any, { value: nested(200) })).status).toBe('ok');
    const small = await start({ limits: { maxInputDepth: 8 } });
    const result = await small.run.call(any, { value: nested(10) });
    expect(result.status === 'invalid' && result.message).toMatch(/deeper than 8 levels/);
  });

  it('refuses an input over the size limit, naming its size and the limit', async () => {
    const { run } = await start({ limits: { maxInputBytes: 1024 } });
    const result = await run.call(any, { value: 'x'.repeat(2000) });
    expect(result).toMatchObject({ status: 'invalid', code: 'CUSTODY_INPUT_INVALID' });
    expect(result.status === 'invalid' && result.message).toMatch(
      /is 2\d{3} bytes of canonical JSON, over limits\.maxInputBytes \(1024\)/,
    );
  });

  it('names a circular input instead of overflowing', async () => {
    const { run } = await start();
    const value: Record<string, unknown> = { a: 1 };
    value.self = value;
    const result = await run.call(any, { value });
    expect(result.status === 'invalid' && result.message).toMatch(/circular reference at value\.self/);
  });

  it('rejects malformed limits at once', () => {
    expect(() =>
      createRuntime({
        tools: [],
        policy: simplePolicy(() => ({ effect: 'allow' })),
        limits: { maxInputDepth: 0 },
      }),
    ).toThrow(/limits\.maxInputDepth must be a whole number from 1 to 1000/);
  });

  it('keeps an own __proto__ key with redaction on, masks inside it, and records it faithfully', async () => {
    const { runtime, run } = await start({ redaction: { keys: ['password'] } });
    const input = JSON.parse('{"value":{"__proto__":{"password":"p4ssw0rd-xyz","n":1}}}');
    const result = await run.call(any, input);
    expect(result.status).toBe('ok');
    const output = result.status === 'ok' ? (result.output as { echoed: unknown }) : undefined;
    expect(Object.getPrototypeOf(output?.echoed)).toBe(Object.prototype);
    expect(Object.hasOwn(output!.echoed as object, '__proto__')).toBe(true);
    const stored = JSON.stringify(await readAll(runtime.stores.ledger));
    expect(stored).not.toContain('p4ssw0rd-xyz');
    expect(stored).toContain('"__proto__":{"n":1,"password":"[REDACTED]"}');
  });
});
