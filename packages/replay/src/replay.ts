import {
  type AgentIdentity,
  type AnyTool,
  type CallOptions,
  type CallResult,
  CustodyError,
  listVisibleTools,
  type ModelRequest,
  type ModelResponse,
  outputOrThrow,
  type Principal,
  type RedactionPolicy,
  type ResourceScope,
  type RetrievedDocument,
  type Retriever,
  type Run,
  type RunOutcome,
  type ToolCatalogEntry,
  type ToolContext,
  toolCatalogEntry,
  type VisibleTool,
} from '@custody/core';
import { canonicalize, createRedactor } from '@custody/core/ledger';
import { toJSONSchema, type z } from 'zod';
import type { ReplayBundle } from './bundle.js';
import { type JsonDifference, jsonDifferences, renderDifferences } from './json-diff.js';
import type { RecordedStep, ToolStep } from './recorded-steps.js';

/** How a replay answers tool calls. */
export type ReplayMode = 'recorded' | 'live';

/** The app's agent, as a replay calls it: given a Run, do the task. */
export type ReplayAgent = (run: Run) => unknown;

/** Options of {@link replay}. */
export interface ReplayOptions {
  /**
   * `recorded` (default): every door answers from the recording and no tool runs. `live`: tools
   * execute for real (point them at a sandbox) and their results are compared to the recording;
   * models, retrieval, time and ids still answer from the recording.
   */
  mode?: ReplayMode;
  /**
   * The app's current tools. With them, a replay also checks each tool's contract (version and
   * schema hashes) against the recording, parses inputs as the runtime would before comparing,
   * and offers the agent the same `run.tools()` list. Required for `live` mode.
   */
  tools?: readonly AnyTool[];
  /** The redaction policy the runtime recorded with, so inputs are compared as recorded. */
  redaction?: RedactionPolicy;
}

/** What kind of difference stopped a replay. */
export type DivergenceKind =
  | 'different_door'
  | 'different_tool'
  | 'tool_input_changed'
  | 'tool_contract_changed'
  | 'tool_output_changed'
  | 'model_request_changed'
  | 'retrieval_changed'
  | 'extra_call'
  | 'missing_calls'
  | 'outcome_changed'
  | 'agent_error';

/** A door use, described briefly for reports. */
export interface StepSummary {
  readonly step: number;
  readonly kind: RecordedStep['kind'];
  /** Tool name, model name, retrieval source. */
  readonly name?: string;
  readonly detail?: unknown;
}

/** The first place where the replay did not do what the recording did. */
export interface Divergence {
  readonly kind: DivergenceKind;
  /** Index of the door use (0-based, in the order the recording has them). */
  readonly step: number;
  readonly message: string;
  readonly expected: unknown;
  readonly actual: unknown;
  readonly differences: readonly JsonDifference[];
  /** A readable diff of expected against actual. */
  readonly diff: string;
}

/** The outcome of a replay. */
export interface ReplayResult {
  readonly status: 'matched' | 'diverged';
  readonly runId: string;
  readonly mode: ReplayMode;
  readonly steps: { readonly recorded: number; readonly replayed: number };
  readonly divergence?: Divergence;
  /** Recorded door uses the replay never reached. */
  readonly neverMade: readonly StepSummary[];
  /** Door uses the recording does not have. */
  readonly notRecorded: readonly StepSummary[];
  readonly outcome: { readonly recorded: RunOutcome | null; readonly replayed: RunOutcome | null };
  /** What the agent function returned (when it did not throw). */
  readonly agentResult?: unknown;
  /** A readable report: the verdict, the divergence with its diff, the calls on either side. */
  report(): string;
}

/** Thrown into the agent by a door once the replay has diverged, so it stops. */
export class ReplayDivergedError extends CustodyError {
  constructor(readonly divergence: Divergence) {
    super('CUSTODY_REPLAY_DIVERGED', `replay diverged at step ${divergence.step}: ${divergence.message}`, {
      details: { kind: divergence.kind, step: divergence.step },
    });
  }
}

const NEVER_ABORTED = new AbortController().signal;

function describeStep(step: RecordedStep, index: number): StepSummary {
  switch (step.kind) {
    case 'tool':
      return { step: index, kind: 'tool', name: step.tool, detail: step.input };
    case 'model':
      return { step: index, kind: 'model', name: step.request.model, detail: { role: step.role } };
    case 'retrieval':
      return { step: index, kind: 'retrieval', name: step.source, detail: step.query };
    default:
      return { step: index, kind: step.kind, detail: step.value };
  }
}

function safeCanonical(value: unknown): string {
  try {
    return canonicalize(value);
  } catch (error) {
    return `(not recordable: ${(error as Error).message})`;
  }
}

function toPrincipal(value: ReplayBundle['run']['principal']): Principal {
  return {
    kind: value.kind,
    id: value.id,
    roles: value.roles,
    ...(value.scopes ? { scopes: value.scopes } : {}),
    ...(value.tenant ? { tenant: value.tenant } : {}),
  };
}

/**
 * A Run whose doors answer from a recording. Each use is compared with what the recording did
 * at that point; the first difference is kept, and from then on every door throws
 * {@link ReplayDivergedError} so the agent stops.
 */
class RecordedRun implements Run {
  readonly runId: string;
  readonly traceId: string;
  readonly principal: Principal;
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  readonly scope: ResourceScope;
  readonly metadata: Readonly<Record<string, unknown>>;
  ended = false;
  replayedOutcome: RunOutcome | null = null;
  divergence: Divergence | undefined;
  readonly notRecorded: StepSummary[] = [];
  next = 0;

  readonly #steps: readonly RecordedStep[];
  readonly #tools: ReadonlyMap<string, AnyTool> | undefined;
  readonly #catalog: ReadonlyMap<string, ToolCatalogEntry>;
  readonly #mode: ReplayMode;
  readonly #redact: ((value: unknown) => unknown) | undefined;
  readonly #schemas = new Map<AnyTool, unknown>();

  constructor(bundle: ReplayBundle, options: ReplayOptions) {
    this.runId = bundle.run.runId;
    this.traceId = bundle.run.traceId ?? '';
    this.principal = toPrincipal(bundle.run.principal);
    this.onBehalfOf = bundle.run.onBehalfOf ? toPrincipal(bundle.run.onBehalfOf) : undefined;
    this.agent = bundle.run.agent;
    this.scope = bundle.run.scope;
    this.metadata = bundle.run.metadata;
    this.#steps = bundle.steps;
    this.#tools = options.tools ? new Map(options.tools.map((tool) => [tool.name, tool])) : undefined;
    this.#catalog = new Map(bundle.tools.map((entry) => [entry.name, entry]));
    this.#mode = options.mode ?? 'recorded';
    this.#redact = options.redaction ? createRedactor(options.redaction) : undefined;
  }

  /** Takes the next recorded step, or records a divergence (and throws) when it does not fit. */
  #take<K extends RecordedStep['kind']>(kind: K, actual: StepSummary): Extract<RecordedStep, { kind: K }> {
    if (this.divergence) {
      this.notRecorded.push(actual);
      throw new ReplayDivergedError(this.divergence);
    }
    const index = this.next;
    const step = this.#steps[index];
    if (!step) {
      this.notRecorded.push(actual);
      this.#diverge(
        'extra_call',
        index,
        `the recording has no step ${index}: the agent made an extra ${kind} call`,
        undefined,
        actual,
      );
    }
    if (step.kind !== kind) {
      this.#diverge(
        'different_door',
        index,
        `step ${index} was a ${step.kind} call in the recording, but the agent made a ${kind} call`,
        describeStep(step, index),
        actual,
      );
    }
    return step as Extract<RecordedStep, { kind: K }>;
  }

  /** Marks the current step as replayed (every check passed) and passes the answer through. */
  #consumed<T>(answer: T): T {
    this.next++;
    return answer;
  }

  #diverge(kind: DivergenceKind, step: number, message: string, expected: unknown, actual: unknown): never {
    const differences = jsonDifferences(expected, actual);
    this.divergence = {
      kind,
      step,
      message,
      expected,
      actual,
      differences,
      diff: renderDifferences(differences),
    };
    throw new ReplayDivergedError(this.divergence);
  }

  async call(tool: AnyTool | string, input: unknown, options: CallOptions = {}): Promise<CallResult> {
    const name = typeof tool === 'string' ? tool : tool.name;
    const index = this.next;
    const step = this.#take('tool', { step: index, kind: 'tool', name, detail: input });
    if (step.tool !== name) {
      this.#diverge(
        'different_tool',
        index,
        `step ${index} called "${step.tool}" in the recording, but the agent called "${name}"`,
        { tool: step.tool, input: step.input },
        { tool: name, input },
      );
    }
    const current = this.#tools?.get(name);
    this.#checkContract(name, current, index);
    const parsed = current?.input.safeParse(input);
    const comparable = parsed?.success ? parsed.data : input;
    const recordedView = this.#redact ? this.#redact(comparable) : comparable;
    if (safeCanonical(recordedView) !== safeCanonical(step.input)) {
      this.#diverge(
        'tool_input_changed',
        index,
        `"${name}" was called with different input than recorded at step ${index}`,
        step.input,
        recordedView,
      );
    }
    if (this.#mode === 'live' && step.executed && current)
      return this.#consumed(await this.#executeLive(step, current, comparable, index, options));
    return this.#consumed(structuredClone(step.result));
  }

  #checkContract(name: string, current: AnyTool | undefined, index: number): void {
    if (!this.#tools) return;
    const recorded = this.#catalog.get(name);
    const now = current ? toolCatalogEntry(current) : undefined;
    if (!recorded) return;
    if (
      !now ||
      now.version !== recorded.version ||
      now.inputSchemaHash !== recorded.inputSchemaHash ||
      now.outputSchemaHash !== recorded.outputSchemaHash
    ) {
      this.#diverge(
        'tool_contract_changed',
        index,
        now
          ? `"${name}" changed since the recording (version ${recorded.version} → ${now.version}${
              now.inputSchemaHash !== recorded.inputSchemaHash ? ', input schema changed' : ''
            }${now.outputSchemaHash !== recorded.outputSchemaHash ? ', output schema changed' : ''})`
          : `"${name}" was recorded but the app no longer has it`,
        recorded,
        now ?? null,
      );
    }
  }

  async #executeLive(
    step: ToolStep,
    tool: AnyTool,
    input: unknown,
    index: number,
    options: CallOptions,
  ): Promise<CallResult> {
    const context: ToolContext = {
      signal: options.signal ?? NEVER_ABORTED,
      idempotencyKey: step.idempotencyKey,
      callId: step.callId,
      runId: this.runId,
      principal: this.principal,
      scope: this.scope,
      attempt: 1,
    };
    let live: CallResult;
    try {
      const raw = await tool.execute(input, context);
      const output = tool.output.safeParse(raw);
      live = output.success
        ? {
            ...(step.result as Extract<CallResult, { status: 'ok' }>),
            status: 'ok',
            output: output.data,
            idempotencyHit: false,
          }
        : {
            status: 'failed',
            callId: step.callId,
            tool: step.tool,
            code: 'CUSTODY_OUTPUT_INVALID',
            message: `live "${step.tool}" returned output that does not match its schema`,
            retryable: false,
            executed: true,
          };
    } catch (error) {
      live = {
        status: 'failed',
        callId: step.callId,
        tool: step.tool,
        code: 'CUSTODY_EXECUTION_FAILED',
        message: `live "${step.tool}" failed: ${(error as Error)?.message ?? String(error)}`,
        retryable: true,
        executed: true,
      };
    }
    const recorded =
      step.result.status === 'ok'
        ? { status: 'ok', output: step.result.output }
        : { status: step.result.status };
    const actual =
      live.status === 'ok'
        ? { status: 'ok', output: this.#redact ? this.#redact(live.output) : live.output }
        : { status: live.status };
    if (safeCanonical(recorded) !== safeCanonical(actual)) {
      this.#diverge(
        'tool_output_changed',
        index,
        `live "${step.tool}" answered differently than recorded at step ${index}`,
        recorded,
        actual,
      );
    }
    return live;
  }

  async callOrThrow(tool: AnyTool | string, input: unknown, options: CallOptions = {}): Promise<unknown> {
    return outputOrThrow(await this.call(tool as string, input, options));
  }

  async model(role: string, request: ModelRequest): Promise<ModelResponse> {
    const index = this.next;
    const step = this.#take('model', { step: index, kind: 'model', name: request?.model, detail: { role } });
    const actual = { role, request: this.#redact ? this.#redact(request) : request };
    const expected = { role: step.role, request: step.request };
    if (safeCanonical(actual) !== safeCanonical(expected)) {
      const template = (r: ModelRequest) =>
        r.promptTemplate ? `${r.promptTemplate.id}@${r.promptTemplate.version}` : 'none';
      this.#diverge(
        'model_request_changed',
        index,
        `the model request at step ${index} differs from the recording` +
          (template(step.request) !== template(request)
            ? ` (prompt template ${template(step.request)} → ${template(request)})`
            : ''),
        JSON.parse(safeCanonical(expected)),
        JSON.parse(safeCanonical(actual)),
      );
    }
    if (step.error) {
      // The recorded call failed: the replay fails it the same way, and the step is done.
      this.#consumed(undefined);
      throw Object.assign(new Error(step.error.message), { name: step.error.name });
    }
    return this.#consumed(structuredClone(step.response ?? {}));
  }

  async retrieve(
    source: string,
    query: string,
    _retriever: Retriever,
  ): Promise<readonly RetrievedDocument[]> {
    const index = this.next;
    const step = this.#take('retrieval', { step: index, kind: 'retrieval', name: source, detail: query });
    if (step.source !== source || step.query !== query) {
      this.#diverge(
        'retrieval_changed',
        index,
        `the retrieval at step ${index} asked ${source} for ${JSON.stringify(query)}, the recording asked ${step.source} for ${JSON.stringify(step.query)}`,
        { source: step.source, query: step.query },
        { source, query },
      );
    }
    return this.#consumed(
      step.documents.map((doc) => ({
        id: doc.id,
        content: doc.content,
        ...(doc.version !== null ? { version: doc.version } : {}),
        ...(doc.metadata !== null ? { metadata: doc.metadata } : {}),
      })),
    );
  }

  now(): Date {
    return this.#consumed(new Date(this.#take('clock', { step: this.next, kind: 'clock' }).value));
  }

  id(): string {
    return this.#consumed(this.#take('id', { step: this.next, kind: 'id' }).value);
  }

  tools(): VisibleTool[] {
    if (!this.#tools) return [];
    return listVisibleTools(this.#tools.values(), this, {
      inputSchema: (tool) => {
        if (!this.#schemas.has(tool))
          this.#schemas.set(tool, toJSONSchema(tool.input as z.ZodType, { unrepresentable: 'any' }));
        return this.#schemas.get(tool);
      },
    });
  }

  async flush(): Promise<void> {}

  async end(options: { outcome: RunOutcome; reason?: string }): Promise<void> {
    this.ended = true;
    this.replayedOutcome = options.outcome;
  }

  remaining(): StepSummary[] {
    return this.#steps.slice(this.next).map((step, offset) => describeStep(step, this.next + offset));
  }
}

/**
 * Re-runs an agent against a recorded run: every door (tools, models, retrieval, clock, ids)
 * answers from the bundle, nothing leaves the process (unless `mode: 'live'`), and the result is
 * `matched` or the first divergence with a readable diff, plus recorded calls never made and calls
 * the recording doesn't have.
 *
 * @example
 * ```ts
 * const result = await replay(bundle, (run) => triageAgent(run, ticket), { tools });
 * if (result.status === 'diverged') console.log(result.report());
 * ```
 */
export async function replay(
  bundle: ReplayBundle,
  agent: ReplayAgent,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  if (typeof agent !== 'function') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'replay needs the agent as a function of the run: (run) => yourAgent(run, …)',
    );
  }
  const mode = options.mode ?? 'recorded';
  if (mode === 'live' && !options.tools) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      'replay in live mode needs `tools`: the tools to execute',
    );
  }
  const run = new RecordedRun(bundle, options);
  let agentResult: unknown;
  try {
    agentResult = await agent(run);
  } catch (error) {
    if (!run.divergence) {
      const message = error instanceof Error ? error.message : String(error);
      run.divergence = {
        kind: 'agent_error',
        step: run.next,
        message: `the agent threw at step ${run.next}: ${message}`,
        expected: undefined,
        actual: message,
        differences: [],
        diff: '',
      };
    }
  }
  const neverMade = run.remaining();
  if (!run.divergence && neverMade.length > 0) {
    const first = neverMade[0]!;
    run.divergence = {
      kind: 'missing_calls',
      step: first.step,
      message: `the agent finished after ${run.next} of ${bundle.steps.length} recorded steps`,
      expected: first,
      actual: undefined,
      differences: [],
      diff: '',
    };
  }
  const recordedOutcome = bundle.run.outcome;
  if (
    !run.divergence &&
    run.replayedOutcome !== null &&
    recordedOutcome !== null &&
    run.replayedOutcome !== recordedOutcome
  ) {
    run.divergence = {
      kind: 'outcome_changed',
      step: run.next,
      message: `the run ended ${run.replayedOutcome}, the recording ended ${recordedOutcome}`,
      expected: recordedOutcome,
      actual: run.replayedOutcome,
      differences: [{ path: 'outcome', expected: recordedOutcome, actual: run.replayedOutcome }],
      diff: renderDifferences([{ path: 'outcome', expected: recordedOutcome, actual: run.replayedOutcome }]),
    };
  }
  const divergence = run.divergence;
  const result: Omit<ReplayResult, 'report'> = {
    status: divergence ? 'diverged' : 'matched',
    runId: bundle.run.runId,
    mode,
    steps: { recorded: bundle.steps.length, replayed: run.next },
    ...(divergence ? { divergence } : {}),
    neverMade,
    notRecorded: run.notRecorded,
    outcome: { recorded: recordedOutcome, replayed: run.replayedOutcome },
    ...(agentResult !== undefined ? { agentResult } : {}),
  };
  return { ...result, report: () => renderReport(result) };
}

function line(summary: StepSummary): string {
  const detail = summary.detail === undefined ? '' : ` ${JSON.stringify(summary.detail).slice(0, 100)}`;
  return `  #${summary.step} ${summary.kind}${summary.name ? ` ${summary.name}` : ''}${detail}`;
}

/** Renders a replay result for a terminal or a failing test. */
export function renderReport(result: Omit<ReplayResult, 'report'>): string {
  const lines = [
    `replay of ${result.runId} (${result.mode}): ${result.status.toUpperCase()} — ${result.steps.replayed} of ${result.steps.recorded} recorded steps replayed`,
  ];
  if (result.divergence) {
    lines.push(
      `first divergence (${result.divergence.kind}) at step ${result.divergence.step}: ${result.divergence.message}`,
    );
    if (result.divergence.diff) lines.push(result.divergence.diff);
  }
  if (result.neverMade.length) lines.push('recorded but never made:', ...result.neverMade.map(line));
  if (result.notRecorded.length)
    lines.push('made but not in the recording:', ...result.notRecorded.map(line));
  return lines.join('\n');
}
