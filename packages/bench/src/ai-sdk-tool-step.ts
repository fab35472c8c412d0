import { generateText, stepCountIs, tool } from 'ai';
import { MockLanguageModelV3 } from 'ai/test';
import { collectGarbage, medianRound, type Timing, timeEachCall } from './measure.js';
import { createTicket, ticketDraftSchema, ticketDrafts } from './ticket-tools.js';

/** Options of {@link measureAiSdkToolStep}. */
export interface AiSdkToolStepOptions {
  iterations: number;
  warmup: number;
  /** Rounds of both timings; the figures are the median round's (default 1). */
  rounds?: number;
}

/** The peer's two timings; their difference is what one tool step costs it. */
export interface AiSdkToolStepFigures {
  /** `generateText` whose mock model answers with text at once: one step, no tools. */
  readonly withoutTools: Timing;
  /** `generateText` whose mock model calls the tool, then answers with text: two steps. */
  readonly withTools: Timing;
  /** Each round's median tool-step cost (with − without), in µs; the figures are the median round's. */
  readonly roundToolStepsUs: readonly number[];
}

// The provider spec types, read off the mock (bench depends on `ai`, not on `@ai-sdk/provider`).
type LanguageModelV3CallOptions = Parameters<MockLanguageModelV3['doGenerate']>[0];
type LanguageModelV3GenerateResult = Awaited<ReturnType<MockLanguageModelV3['doGenerate']>>;

const USAGE: LanguageModelV3GenerateResult['usage'] = {
  inputTokens: { total: 10, noCache: 10, cacheRead: undefined, cacheWrite: undefined },
  outputTokens: { total: 5, text: 5, reasoning: undefined },
};

const TEXT_ANSWER: LanguageModelV3GenerateResult = {
  content: [{ type: 'text', text: 'Ticket filed.' }],
  finishReason: { unified: 'stop', raw: 'stop' },
  usage: USAGE,
  warnings: [],
};

function toolCallAnswer(input: string, index: number): LanguageModelV3GenerateResult {
  return {
    content: [{ type: 'tool-call', toolCallId: `call_${index}`, toolName: 'createTicket', input }],
    finishReason: { unified: 'tool-calls', raw: 'tool_calls' },
    usage: USAGE,
    warnings: [],
  };
}

const hasToolResult = (options: LanguageModelV3CallOptions) =>
  options.prompt.some((message) => message.role === 'tool');

/**
 * The peer: one tool round trip in the Vercel AI SDK. `generateText` with a mock model that calls
 * `createTicket` and then answers, minus `generateText` with a mock model that answers at once.
 * The same function the Custody benchmark gates does the work, with the same inputs.
 */
export async function measureAiSdkToolStep(options: AiSdkToolStepOptions): Promise<AiSdkToolStepFigures> {
  const rounds: Omit<AiSdkToolStepFigures, 'roundToolStepsUs'>[] = [];
  for (let round = 0; round < (options.rounds ?? 1); round++) rounds.push(await measureRound(options));
  const toolStep = (r: (typeof rounds)[number]) => r.withTools.medianUs - r.withoutTools.medianUs;
  return { ...medianRound(rounds, toolStep), roundToolStepsUs: rounds.map(toolStep) };
}

async function measureRound(
  options: AiSdkToolStepOptions,
): Promise<Omit<AiSdkToolStepFigures, 'roundToolStepsUs'>> {
  const { iterations, warmup } = options;
  const drafts = ticketDrafts(warmup + iterations);
  const callAnswers = drafts.map((draft, i) => toolCallAnswer(JSON.stringify(draft), i));
  let current = 0;

  const textModel = new MockLanguageModelV3({ doGenerate: async () => TEXT_ANSWER });
  const toolModel = new MockLanguageModelV3({
    doGenerate: async (call) => (hasToolResult(call) ? TEXT_ANSWER : callAnswers[current]!),
  });
  const tools = {
    createTicket: tool({
      description: 'Files a support ticket for a customer.',
      inputSchema: ticketDraftSchema,
      execute: (draft) => createTicket(draft),
    }),
  };
  // The mocks keep every call's options; drop them between batches so memory stays flat.
  const forgetCalls = () => {
    textModel.doGenerateCalls.length = 0;
    toolModel.doGenerateCalls.length = 0;
  };
  const batches = { batchSize: 500, beforeBatch: forgetCalls };

  collectGarbage();
  const withoutTools = await timeEachCall(
    'generateText, text only',
    async () => {
      const result = await generateText({ model: textModel, prompt: 'File a ticket.' });
      if (result.steps.length !== 1) throw unexpected('one step', result.steps.length);
    },
    { iterations, warmup, ...batches },
  );
  collectGarbage();
  const withTools = await timeEachCall(
    'generateText, one tool step',
    async (i) => {
      current = i;
      const result = await generateText({
        model: toolModel,
        prompt: 'File a ticket.',
        tools,
        stopWhen: stepCountIs(2),
      });
      if (result.steps.length !== 2 || result.steps[0]?.toolResults.length !== 1) {
        throw unexpected('a tool step and a text step', result.steps.length);
      }
    },
    { iterations, warmup, ...batches },
  );
  return { withoutTools, withTools };
}

function unexpected(expected: string, steps: number): Error {
  return new Error(`[custody-bench] the AI SDK mock run should take ${expected}, it took ${steps} step(s)`);
}
