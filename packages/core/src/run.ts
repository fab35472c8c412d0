import {
  type Context,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import { type CallResult, outputOrThrow, type ToolOutput } from './call-result.js';
import {
  assertModelCall,
  deliveredDocuments,
  type ModelRequest,
  type ModelResponse,
  type RetrievedDocument,
  type Retriever,
  recordableModelRequest,
  recordedDocuments,
} from './doors.js';
import { CustodyError, describeValue, invalidArgument } from './errors.js';
import { canonicalize } from './ledger/canonical-json.js';
import { EventTypes } from './ledger/event.js';
import { modeAllows } from './mode.js';
import { type CallRun, CallState } from './pipeline/call-state.js';
import { errorMessage, errorRecord, maskText } from './pipeline/error-text.js';
import type { AgentIdentity, Principal, ResourceScope } from './principal.js';
import { principalRef } from './principal.js';
import type { EventRecorder } from './recording/event-recorder.js';
import { type CallOptions, RUN_OUTCOMES, type Run, type RunOutcome } from './run-contract.js';
import type { RuntimeInternals } from './runtime-internals.js';
import { CustodyAttributes, GenAiAttributes, GenAiOperations } from './telemetry/attributes.js';
import type { AnyTool } from './tool.js';
import { listVisibleTools, type VisibleTool } from './visible-tools.js';

const NEVER_ABORTED = new AbortController().signal;
const MAX_KEY_LENGTH = 255;

/** The runtime's Run: every door gated, recorded and traced. */
export class GatedRun implements Run {
  readonly runId: string;
  readonly traceId: string;
  readonly principal: Principal;
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  readonly scope: ResourceScope;
  readonly metadata: Readonly<Record<string, unknown>>;

  readonly #rt: RuntimeInternals;
  readonly #recorder: EventRecorder;
  readonly #span: Span;
  readonly #context: Context;
  readonly #spanId: string;
  /** What every call's steps know of this run. */
  readonly #callRun: CallRun;
  #ended = false;
  #calls = 0;

  /** @internal Use `runtime.startRun()`. */
  constructor(init: {
    runtime: RuntimeInternals;
    runId: string;
    traceId: string;
    spanId: string;
    span: Span;
    context: Context;
    recorder: EventRecorder;
    principal: Principal;
    onBehalfOf: Principal | undefined;
    agent: AgentIdentity;
    scope: ResourceScope;
    metadata: Readonly<Record<string, unknown>>;
  }) {
    this.#rt = init.runtime;
    this.runId = init.runId;
    this.traceId = init.traceId;
    this.#spanId = init.spanId;
    this.#span = init.span;
    this.#context = init.context;
    this.#recorder = init.recorder;
    this.principal = init.principal;
    this.onBehalfOf = init.onBehalfOf;
    this.agent = init.agent;
    this.scope = init.scope;
    this.metadata = init.metadata;
    this.#callRun = {
      runId: this.runId,
      principal: this.principal,
      onBehalfOf: this.onBehalfOf,
      agent: this.agent,
      scope: this.scope,
      actorRef: principalRef(init.principal),
      context: init.context,
      policyRun: {
        runId: this.runId,
        principal: this.principal,
        onBehalfOf: this.onBehalfOf,
        agent: this.agent,
        scope: this.scope,
        metadata: this.metadata,
      },
    };
  }

  /** True once {@link Run.end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Calls a tool through the gated pipeline (`pipeline/`: resolve the tool, validate input, check
   * mode, authorize, reserve budget, decide policy, claim idempotency, execute, validate output,
   * commit). Never throws for an outcome of the call itself; read `status`.
   *
   * @example
   * ```ts
   * const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 1200 });
   * if (result.status === 'ok') console.log(result.output.refundId);
   * else if (result.status === 'pending_approval') console.log('waiting for', result.approval.approvers);
   * else return result; // denied / invalid / failed: hand the reason to the model
   * ```
   */
  async call<T extends AnyTool>(
    tool: T,
    input: unknown,
    options?: CallOptions,
  ): Promise<CallResult<ToolOutput<T>>>;
  async call(tool: string, input: unknown, options?: CallOptions): Promise<CallResult>;
  async call(toolOrName: AnyTool | string, input: unknown, options: CallOptions = {}): Promise<CallResult> {
    this.#assertOpen('call a tool');
    const name = typeof toolOrName === 'string' ? toolOrName : toolOrName?.name;
    if (typeof name !== 'string') {
      throw invalidArgument(`run.call expects a tool name or a tool, got ${describeValue(toolOrName)}`);
    }
    if (options.idempotencyKey !== undefined) assertIdempotencyKey(options.idempotencyKey);
    const callId = this.#rt.ids.next('call');
    this.#calls++;
    const span = this.#rt.tracer.startSpan(
      `${GenAiOperations.executeTool} ${name}`,
      {
        kind: SpanKind.INTERNAL,
        attributes: {
          [GenAiAttributes.operationName]: GenAiOperations.executeTool,
          [GenAiAttributes.toolName]: name,
          [GenAiAttributes.toolCallId]: callId,
          [GenAiAttributes.toolType]: 'function',
          [CustodyAttributes.runId]: this.runId,
        },
      },
      this.#context,
    );
    const state = new CallState({
      request: {
        callId,
        name,
        rawInput: input,
        idempotencyKey: options.idempotencyKey,
        signal: options.signal,
      },
      run: this.#callRun,
      runtime: this.#rt,
      recorder: this.#recorder,
      span,
      spanId: this.#spanIdOf(span),
    });
    try {
      const result = await this.#rt.pipeline.run(state);
      span.setAttribute(CustodyAttributes.callStatus, result.status);
      if (result.status !== 'ok') {
        span.setAttribute(
          CustodyAttributes.callCode,
          result.status === 'pending_approval' ? 'CUSTODY_APPROVAL_REQUIRED' : result.code,
        );
        if (result.status === 'failed')
          span.setStatus({ code: SpanStatusCode.ERROR, message: result.message });
      }
      return result;
    } finally {
      span.end();
    }
  }

  /**
   * Like {@link Run.call} but returns the output and throws a {@link CustodyError} for every
   * other outcome (its `code` says which: `CUSTODY_POLICY_DENIED`, `CUSTODY_APPROVAL_REQUIRED`, …).
   */
  async callOrThrow<T extends AnyTool>(
    tool: T,
    input: unknown,
    options?: CallOptions,
  ): Promise<ToolOutput<T>>;
  async callOrThrow(tool: string, input: unknown, options?: CallOptions): Promise<unknown>;
  async callOrThrow(tool: AnyTool | string, input: unknown, options: CallOptions = {}): Promise<unknown> {
    return outputOrThrow(await this.call(tool as string, input, options));
  }

  /**
   * Calls a model through the run's door, so the request and the answer are recorded (and a
   * replay can answer from the recording). `role` names what the call is for (`planner`,
   * `summarizer`); the budget router will route on it.
   *
   * @example
   * ```ts
   * const reply = await run.model('planner', { model: 'gpt-4.1-mini', messages });
   * ```
   */
  async model(
    role: string,
    request: ModelRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<ModelResponse> {
    this.#assertOpen('call a model');
    assertModelCall(role, request);
    const provider = this.#rt.model;
    if (!provider) {
      throw invalidArgument(
        'run.model was called but the runtime has no model provider: pass `model` to createRuntime',
      );
    }
    const sent = recordableModelRequest(request);
    const callId = this.#rt.ids.next('model');
    const span = this.#rt.tracer.startSpan(
      `${GenAiOperations.chat} ${request.model}`,
      {
        kind: SpanKind.CLIENT,
        attributes: {
          [GenAiAttributes.operationName]: GenAiOperations.chat,
          [GenAiAttributes.requestModel]: request.model,
          [CustodyAttributes.modelRole]: role,
          [CustodyAttributes.runId]: this.runId,
          ...(request.provider ? { [GenAiAttributes.providerName]: request.provider } : {}),
        },
      },
      this.#context,
    );
    const spanId = this.#spanIdOf(span);
    const started = this.#rt.clock.now();
    try {
      const response = await otelContext.with(trace.setSpan(this.#context, span), () =>
        provider(sent, { role, runId: this.runId, signal: options.signal ?? NEVER_ABORTED }),
      );
      if (response.model) span.setAttribute(GenAiAttributes.responseModel, response.model);
      if (response.usage?.inputTokens !== undefined)
        span.setAttribute(GenAiAttributes.inputTokens, response.usage.inputTokens);
      if (response.usage?.outputTokens !== undefined)
        span.setAttribute(GenAiAttributes.outputTokens, response.usage.outputTokens);
      // Delivered as recorded (canonical key order), so a replay returns the very same value.
      const delivered = JSON.parse(canonicalize(response)) as ModelResponse;
      this.#recorder.record(
        EventTypes.modelCalled,
        { callId, role, request: sent, response: delivered, durationMs: this.#rt.clock.now() - started },
        spanId,
      );
      await this.#recorder.flush();
      return delivered;
    } catch (error) {
      const mask = (text: string) => maskText({ runtime: this.#rt }, text, [sent]);
      span.setStatus({ code: SpanStatusCode.ERROR, message: mask(errorMessage(error)) });
      if (!CustodyError.isInstance(error) || error.code !== 'CUSTODY_CANONICAL_INVALID') {
        this.#recorder.record(
          EventTypes.modelCalled,
          {
            callId,
            role,
            request: sent,
            error: errorRecord(error, mask),
            durationMs: this.#rt.clock.now() - started,
          },
          spanId,
        );
        try {
          await this.#recorder.flush();
        } catch {
          /* queued for the next flush; the model's error is what the caller gets */
        }
      }
      throw error;
    } finally {
      span.end();
    }
  }

  /**
   * Retrieves context through the run's door: records the query, every document's id, version
   * and content hash (and the content, so a replay can serve it), then returns the documents.
   *
   * @example
   * ```ts
   * const docs = await run.retrieve('kb', 'refund policy', (query) => searchKnowledgeBase(query));
   * ```
   */
  async retrieve(
    source: string,
    query: string,
    retriever: Retriever,
    options: { signal?: AbortSignal; sourceVersion?: string } = {},
  ): Promise<readonly RetrievedDocument[]> {
    this.#assertOpen('retrieve');
    if (typeof source !== 'string' || source === '')
      throw invalidArgument(`run.retrieve source must be a non-empty string, got ${describeValue(source)}`);
    if (typeof query !== 'string')
      throw invalidArgument(`run.retrieve query must be a string, got ${describeValue(query)}`);
    if (typeof retriever !== 'function')
      throw invalidArgument(`run.retrieve needs a retriever function, got ${describeValue(retriever)}`);
    const recorded = recordedDocuments(
      source,
      await retriever(query, { signal: options.signal ?? NEVER_ABORTED }),
    );
    this.#span.addEvent('retrieval', {
      [CustodyAttributes.retrievalSource]: source,
      [CustodyAttributes.retrievalDocuments]: recorded.map((doc) => doc.id),
    });
    this.#recorder.record(
      EventTypes.retrievalPerformed,
      { source, sourceVersion: options.sourceVersion ?? null, query, documents: recorded },
      this.#spanId,
    );
    await this.#recorder.flush();
    return deliveredDocuments(recorded);
  }

  /** The time, from the runtime's clock, recorded so a replay sees the same time. */
  now(): Date {
    this.#assertOpen('read the clock');
    const value = this.#rt.clock.now();
    const iso = new Date(value).toISOString();
    this.#recorder.record(EventTypes.clockRead, { value: iso }, this.#spanId);
    return new Date(value);
  }

  /** A fresh id, recorded so a replay gets the same id. */
  id(): string {
    this.#assertOpen('mint an id');
    const value = this.#rt.ids.next('id');
    this.#recorder.record(EventTypes.idGenerated, { value }, this.#spanId);
    return value;
  }

  /**
   * The tools this run's agent may call right now, with JSON Schemas for the model's tool list:
   * the allow-list, the principal's scopes and the mode are applied here as they are at dispatch,
   * so the model is not offered what would be refused.
   */
  tools(): VisibleTool[] {
    return listVisibleTools(this.#rt.tools.values(), this, {
      allows: (tool) =>
        modeAllows(this.#rt.modes.effective(this.scope.tenant, tool.connector).mode, tool.effect),
      inputSchema: (tool) => this.#rt.inputSchema(tool),
    });
  }

  /** Writes every recorded event to the ledger; resolves once they are durable. */
  flush(): Promise<void> {
    return this.#recorder.flush();
  }

  /**
   * Ends the run: records how it ended, closes its trace span and writes what is pending.
   * Calling the run's doors afterwards throws `CUSTODY_RUN_ENDED`.
   */
  async end(options: { outcome: RunOutcome; reason?: string }): Promise<void> {
    if (!RUN_OUTCOMES.includes(options?.outcome)) {
      throw invalidArgument(
        `run.end outcome must be one of ${RUN_OUTCOMES.join(', ')}, got ${describeValue(options?.outcome)}`,
      );
    }
    this.#assertOpen('end');
    this.#ended = true;
    this.#recorder.record(
      EventTypes.runEnded,
      { outcome: options.outcome, reason: options.reason ?? null, calls: this.#calls },
      this.#spanId,
    );
    this.#span.setAttribute(CustodyAttributes.runOutcome, options.outcome);
    if (options.outcome !== 'succeeded') {
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: options.reason ?? options.outcome });
    }
    this.#span.end();
    await this.#recorder.flush();
  }

  #spanIdOf(span: Span): string {
    const context = span.spanContext();
    // The cheap comparison first: without an SDK every span carries the all-zero trace id.
    return context.traceId === this.traceId && trace.isSpanContextValid(context)
      ? context.spanId
      : this.#rt.ids.spanId();
  }

  #assertOpen(what: string): void {
    if (this.#ended) {
      throw new CustodyError(
        'CUSTODY_RUN_ENDED',
        `run ${this.runId} has ended; cannot ${what}. Start a new run.`,
        {
          details: { runId: this.runId },
        },
      );
    }
  }
}

function assertIdempotencyKey(key: unknown): void {
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH || !key.isWellFormed()) {
    throw invalidArgument(
      `idempotencyKey must be a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${describeValue(key)}`,
    );
  }
}
