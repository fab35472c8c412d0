import { context, trace } from '@opentelemetry/api';
import {
  BasicTracerProvider,
  InMemorySpanExporter,
  SimpleSpanProcessor,
} from '@opentelemetry/sdk-trace-base';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeRuntime, simplePolicy, startTriageRun } from '../../test/helpers.js';
import { readAll } from '../index.js';

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

describe('OpenTelemetry', () => {
  it('emits one trace per run: invoke_agent with execute_tool and chat children, GenAI and custody attributes', async () => {
    exporter.reset();
    const { runtime, stores } = makeRuntime({
      model: async () => ({ text: 'ok', usage: { inputTokens: 5, outputTokens: 2 }, model: 'fake-1-2026' }),
      policy: simplePolicy((request) =>
        request.tool.name === 'stripe.refund'
          ? { effect: 'deny', ruleIds: ['no-refunds'] }
          : { effect: 'allow' },
      ),
    });
    const run = await startTriageRun(runtime);
    await run.model('planner', { model: 'fake-1', provider: 'fake', messages: [] });
    await run.call('jira.create_issue', { project: 'SUP', summary: 'x' });
    await run.call('jira.create_issue', { project: 'SUP', summary: 'x' }); // idempotency hit
    await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    await run.end({ outcome: 'succeeded' });

    const spans = exporter.getFinishedSpans();
    expect(new Set(spans.map((span) => span.spanContext().traceId))).toEqual(new Set([run.traceId]));
    const root = spans.find((span) => span.name === 'invoke_agent triage-bot')!;
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'invoke_agent',
      'gen_ai.agent.name': 'triage-bot',
      'custody.run.id': run.runId,
      'custody.run.outcome': 'succeeded',
      'custody.tenant': 'acme',
    });
    const children = spans.filter((span) => span.parentSpanContext?.spanId === root.spanContext().spanId);
    expect(children.map((span) => span.name)).toEqual([
      'chat fake-1',
      'execute_tool jira.create_issue',
      'execute_tool jira.create_issue',
      'execute_tool stripe.refund',
    ]);
    const [chat, created, hit, denied] = children;
    expect(chat!.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.request.model': 'fake-1',
      'gen_ai.response.model': 'fake-1-2026',
      'gen_ai.provider.name': 'fake',
      'gen_ai.usage.input_tokens': 5,
      'gen_ai.usage.output_tokens': 2,
    });
    expect(created!.attributes).toMatchObject({
      'gen_ai.operation.name': 'execute_tool',
      'gen_ai.tool.name': 'jira.create_issue',
      'custody.policy.decision': 'allow',
      'custody.policy.id': 'test-policy',
      'custody.policy.rule_ids': ['rule:allow'],
      'custody.idempotency.hit': false,
      'custody.call.status': 'ok',
      'custody.verification': 'ok',
    });
    expect(hit!.attributes).toMatchObject({ 'custody.idempotency.hit': true, 'custody.call.status': 'ok' });
    expect(denied!.attributes).toMatchObject({
      'custody.policy.decision': 'deny',
      'custody.policy.rule_ids': ['no-refunds'],
      'custody.call.status': 'denied',
      'custody.call.code': 'CUSTODY_POLICY_DENIED',
    });

    // Ledger events carry the span ids of the spans they happened in.
    const events = await readAll(stores.ledger, { runId: run.runId });
    const toolEvent = events.find((event) => event.type === 'tool.result')!;
    expect(toolEvent.spanId).toBe(created!.spanContext().spanId);
    expect(events[0]!.spanId).toBe(root.spanContext().spanId);
  });

  it('joins the trace of the parent context it is started under', async () => {
    exporter.reset();
    const { runtime } = makeRuntime();
    const tracer = trace.getTracer('app');
    const request = tracer.startSpan('POST /tickets');
    const run = await startTriageRun(runtime, { parentContext: trace.setSpan(context.active(), request) });
    await run.end({ outcome: 'succeeded' });
    request.end();
    expect(run.traceId).toBe(request.spanContext().traceId);
    const root = exporter.getFinishedSpans().find((span) => span.name.startsWith('invoke_agent'))!;
    expect(root.parentSpanContext?.spanId).toBe(request.spanContext().spanId);
  });
});
