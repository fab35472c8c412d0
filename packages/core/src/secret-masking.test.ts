import { context, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, simplePolicy, triageAgent } from '../test/helpers.js';
import { createRuntime, defineTool, type RuntimeOptions, readAll } from './index.js';
import { csvLines, jsonlLines } from './ledger/ledger-export.js';
import { maskSecretsInText } from './secret-text.js';

const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
});
afterAll(async () => {
  trace.disable();
  context.disable();
  await provider.shutdown();
});

describe('maskSecretsInText', () => {
  it('masks known secret values wherever they occur', () => {
    expect(maskSecretsInText('login failed for hunter2-pw (hunter2-pw)', ['hunter2-pw'])).toBe(
      'login failed for [REDACTED] ([REDACTED])',
    );
  });

  it('masks header-style, URL-style and bearer secrets by default', () => {
    const cases: [string, string][] = [
      ['401 from api: X-Api-Key: sk_live_123abc rejected', '401 from api: X-Api-Key: [REDACTED] rejected'],
      [
        'GET https://api.example.com/v1?user=bob&api_key=abc123XYZ&x=1',
        'GET https://api.example.com/v1?user=bob&api_key=[REDACTED]&x=1',
      ],
      ['Authorization: Bearer eyJhbGciOi.payload.sig failed', 'Authorization: Bearer [REDACTED] failed'],
      ['sent Bearer abcdef123456', 'sent Bearer [REDACTED]'],
      ['connect postgres://app:s3cret-pass@db:5432/x', 'connect postgres://app:[REDACTED]@db:5432/x'],
      ['{"token":"tok_999","ok":false}', '{"token":"[REDACTED]","ok":false}'],
      ['password=hunter2 for bob', 'password=[REDACTED] for bob'],
    ];
    for (const [text, masked] of cases) expect(maskSecretsInText(text, []), text).toBe(masked);
  });

  it('leaves ordinary text alone', () => {
    const text = 'charge ch_1 was already refunded (amount 1200); tokenizer ready';
    expect(maskSecretsInText(text, [])).toBe(text);
  });

  it('masks configured key names in text, and uses the configured replacement', () => {
    expect(
      maskSecretsInText('cardNumber: 4242424242424242 declined', [], {
        keys: ['cardNumber'],
        replacement: '***',
      }),
    ).toBe('cardNumber: *** declined');
  });
});

describe('secrets stay out of errors, spans, stores and exports', () => {
  const login = defineTool({
    name: 'vault.login',
    version: '1',
    effect: 'write',
    input: z.object({ user: z.string(), password: z.string() }),
    output: z.object({ session: z.string() }),
    execute: async ({ user, password }) => {
      if (password !== 'correct-horse-battery') {
        throw new Error(
          `invalid password "${password}" for ${user}; retry with header X-Api-Key: sk_live_LEAK42`,
        );
      }
      return { session: `session-of-${user}` };
    },
  });
  const rotate = defineTool({ ...login, name: 'vault.rotate' });

  async function start(overrides: Partial<RuntimeOptions> = {}) {
    const runtime = createRuntime({
      tools: [login, rotate],
      policy: simplePolicy((request) => ({
        effect: request.tool.name === 'vault.rotate' ? 'require_approval' : 'allow',
        approvers: [{ role: 'sec', count: 1 }],
      })),
      redaction: { keys: ['password'] },
      ...overrides,
    });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['vault.*'] },
      scope: { tenant: 't' },
    });
    return { runtime, run };
  }

  it('masks a tool error that repeats a redacted value, and a header secret, everywhere it goes', async () => {
    exporter.reset();
    const { runtime, run } = await start();
    const result = await run.call(login, { user: 'bob', password: 'WRONG-pw-SECRET' });
    expect(result.status).toBe('failed');
    const message = result.status === 'failed' ? result.message : '';
    expect(message).toContain('invalid password "[REDACTED]" for bob');
    expect(message).not.toContain('SECRET');
    expect(message).not.toContain('LEAK42');
    // The stored idempotency outcome answers a repeat with the masked text.
    const repeat = await run.call(login, { user: 'bob', password: 'WRONG-pw-SECRET' });
    expect(repeat.status === 'failed' && repeat.message).not.toContain('SECRET');
    await run.end({ outcome: 'failed' });

    const events = await readAll(runtime.stores.ledger);
    const everything = [
      JSON.stringify(events),
      [
        ...jsonlLines(
          { format: 'custody-ledger', version: 1, exportedAt: '2026-01-01T00:00:00.000Z', query: {} },
          events,
          [],
        ),
      ].join('\n'),
      [...csvLines(events)].join('\n'),
      // The timeline (`custody show`) renders these same events; @custody/cli's timeline test checks it.
      JSON.stringify(exporter.getFinishedSpans().map((span) => [span.status, span.attributes, span.events])),
    ].join('\n');
    expect(everything).not.toContain('SECRET');
    expect(everything).not.toContain('LEAK42');
    expect(everything).toContain('[REDACTED]');
    const failedSpan = exporter.getFinishedSpans().find((span) => span.name === 'execute_tool vault.login');
    expect(failedSpan?.status.message).toContain('invalid password "[REDACTED]"');
  });

  it('keeps calls that differ only in a masked field apart: a wrong password never gets the first login', async () => {
    const { run } = await start();
    const first = await run.call(login, { user: 'bob', password: 'correct-horse-battery' });
    expect(first).toMatchObject({ status: 'ok', idempotencyHit: false });
    const wrong = await run.call(login, { user: 'bob', password: 'guess-123456' });
    expect(wrong).toMatchObject({ status: 'failed', code: 'CUSTODY_EXECUTION_FAILED' });
    const again = await run.call(login, { user: 'bob', password: 'correct-horse-battery' });
    expect(again).toMatchObject({ status: 'ok', idempotencyHit: true });
  });

  it('binds approval digests to masked values without storing them', async () => {
    const { runtime, run } = await start();
    const a = await run.call(rotate, { user: 'bob', password: 'first-secret-AAA' });
    const b = await run.call(rotate, { user: 'bob', password: 'second-secret-BBB' });
    expect(a.status === 'pending_approval' && b.status === 'pending_approval').toBe(true);
    if (a.status !== 'pending_approval' || b.status !== 'pending_approval') return;
    expect(a.approval.digest).not.toBe(b.approval.digest);
    const stored = JSON.stringify([
      await runtime.stores.approvals.list(),
      await readAll(runtime.stores.ledger),
    ]);
    expect(stored).not.toContain('secret-AAA');
    expect(stored).not.toContain('secret-BBB');
  });

  it('derives the same digest in two runtimes that share a redaction hmacKey, and another without it', async () => {
    const hmacKey = 'k'.repeat(32);
    const one = await start({ redaction: { keys: ['password'], hmacKey } });
    const two = await start({ redaction: { keys: ['password'], hmacKey } });
    const three = await start();
    const digest = async (s: typeof one) => {
      const result = await s.run.call(rotate, { user: 'bob', password: 'same-secret' });
      return result.status === 'pending_approval' ? result.approval.digest : undefined;
    };
    const d1 = await digest(one);
    expect(d1).toBeDefined();
    expect(await digest(two)).toBe(d1);
    expect(await digest(three)).not.toBe(d1);
  });

  it('rejects a short hmacKey at once', () => {
    expect(() =>
      createRuntime({
        tools: [],
        policy: simplePolicy(() => ({ effect: 'allow' })),
        redaction: { keys: ['password'], hmacKey: 'short' },
      }),
    ).toThrow(/redaction\.hmacKey must be at least 32 bytes/);
  });
});
