import {
  type Context,
  context as otelContext,
  type Span,
  SpanKind,
  SpanStatusCode,
  trace,
} from '@opentelemetry/api';
import type { z } from 'zod';
import { computeActionDigest } from './action-digest.js';
import { type CallInput, snapshotCallInput } from './call-input.js';
import { attemptJson, decidedJson, okResultJson, requestedJson } from './call-payloads.js';
import type { CallFailed, CallResult, InputIssue, ToolOutput } from './call-result.js';
import type { ModelRequest, ModelResponse, RetrievedDocument, Retriever } from './doors.js';
import { CustodyError, type CustodyErrorCode, describeValue, invalidArgument } from './errors.js';
import { deepFreeze, frozenFromJson } from './frozen-snapshot.js';
import { matchesAny } from './glob.js';
import { findInputShapeProblem, type InputLimitProblem } from './input-limits.js';
import { canonicalize } from './ledger/canonical-json.js';
import { EventTypes } from './ledger/event.js';
import type { EventRecorder } from './ledger/event-recorder.js';
import { sha256Hex } from './ledger/hash.js';
import { modeAllows } from './mode.js';
import type { PolicyDecision, PolicyRequest, PolicyRunContext } from './policy.js';
import {
  type AgentIdentity,
  type Principal,
  principalRef,
  type ResourceScope,
  resourceOutsideScope,
  scopeGranted,
} from './principal.js';
import type { RuntimeInternals } from './runtime-internals.js';
import { maskSecretsInText } from './secret-text.js';
import { CustodyAttributes, GenAiAttributes, GenAiOperations } from './telemetry/attributes.js';
import type { AnyTool, ToolContext, VerifyOutcome } from './tool.js';

/** How a run ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'abandoned' | 'rolled_back';

const RUN_OUTCOMES: readonly RunOutcome[] = ['succeeded', 'failed', 'abandoned', 'rolled_back'];

/** Options of {@link Run.call}. */
export interface CallOptions {
  /**
   * Up to 255 characters. Defaults, for tools that change the world, to one derived from the run,
   * the tool and the canonical input, so the same call in the same run never executes twice.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

/** A tool as the model may see it: what `run.tools()` lists. */
export interface VisibleTool {
  readonly name: string;
  readonly version: string;
  readonly description: string | undefined;
  readonly effect: AnyTool['effect'];
  /** JSON Schema of the input, for the model's tool list. */
  readonly inputSchema: unknown;
}

const NEVER_ABORTED = new AbortController().signal;
const MAX_KEY_LENGTH = 255;

/**
 * One agent run: one principal, one agent, one resource scope, one trace. It is the only door
 * between agent code and the world — tool calls, model calls, retrieval, time and ids all pass
 * through it, so each is gated, recorded and can be replayed. Create one with
 * `runtime.startRun()`; in a replay, `@custody/replay` hands the agent a Run whose doors answer
 * from the recording. Write agent code against this interface.
 */
export interface Run {
  readonly runId: string;
  readonly traceId: string;
  readonly principal: Principal;
  readonly onBehalfOf: Principal | undefined;
  readonly agent: AgentIdentity;
  readonly scope: ResourceScope;
  readonly metadata: Readonly<Record<string, unknown>>;
  /** True once `end` was called. */
  readonly ended: boolean;
  /**
   * Calls a tool through the gated pipeline and answers with a {@link CallResult}; never throws
   * for an outcome of the call itself.
   */
  call<T extends AnyTool>(tool: T, input: unknown, options?: CallOptions): Promise<CallResult<ToolOutput<T>>>;
  call(tool: string, input: unknown, options?: CallOptions): Promise<CallResult>;
  /** Like `call`, but returns the output and throws a `CustodyError` for any other outcome. */
  callOrThrow<T extends AnyTool>(tool: T, input: unknown, options?: CallOptions): Promise<ToolOutput<T>>;
  callOrThrow(tool: string, input: unknown, options?: CallOptions): Promise<unknown>;
  /** Calls a model through the door. */
  model(role: string, request: ModelRequest, options?: { signal?: AbortSignal }): Promise<ModelResponse>;
  /** Retrieves context through the door. */
  retrieve(
    source: string,
    query: string,
    retriever: Retriever,
    options?: { signal?: AbortSignal; sourceVersion?: string },
  ): Promise<readonly RetrievedDocument[]>;
  /** The time, recorded. */
  now(): Date;
  /** A fresh id, recorded. */
  id(): string;
  /** The tools the agent may call now, for the model's tool list. */
  tools(): VisibleTool[];
  /** Writes recorded events to the ledger. */
  flush(): Promise<void>;
  /** Ends the run. */
  end(options: { outcome: RunOutcome; reason?: string }): Promise<void>;
}

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
  readonly #policyRun: PolicyRunContext;
  readonly #actorRef: string;
  #ended = false;
  #scopeJson: string | undefined;
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
    this.#actorRef = principalRef(init.principal);
    this.#policyRun = {
      runId: this.runId,
      principal: this.principal,
      onBehalfOf: this.onBehalfOf,
      agent: this.agent,
      scope: this.scope,
      metadata: this.metadata,
    };
  }

  /** True once {@link Run.end} was called. */
  get ended(): boolean {
    return this.#ended;
  }

  /**
   * Calls a tool through the gated pipeline: resolve and allow-list, validate, mode, scopes and
   * resource, policy, idempotency, execute, validate output, verify, record. Never throws for an
   * outcome of the call itself; read `status`.
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
    const spanId = this.#spanIdOf(span);
    try {
      const result = await this.#pipeline(name, input, options, callId, span, spanId);
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

  async #pipeline(
    name: string,
    rawInput: unknown,
    options: CallOptions,
    callId: string,
    span: Span,
    spanId: string,
  ): Promise<CallResult> {
    const rec = this.#recorder;
    const tool = this.#rt.tools.get(name);

    // 1. Resolve the tool and check the agent's allow-list.
    if (!tool || !matchesAny(this.agent.tools, name)) {
      this.#recordRawRequest(callId, name, rawInput, spanId);
      const code: CustodyErrorCode = tool ? 'CUSTODY_TOOL_NOT_ALLOWED' : 'CUSTODY_TOOL_UNKNOWN';
      const reason = tool
        ? `agent "${this.agent.id}" may not call "${name}": it is not on the agent's tool allow-list`
        : `tool "${name}" is not registered with this runtime (registered: ${this.#rt.toolNames()})`;
      return this.#deny(callId, name, code, reason, spanId);
    }
    span.setAttribute(CustodyAttributes.toolVersion, tool.version);
    span.setAttribute(CustodyAttributes.toolEffect, tool.effect);

    // 2. Validate the input strictly. Nothing runs on invalid input.
    const shapeProblem = findInputShapeProblem(rawInput, this.#rt.limits);
    if (shapeProblem) {
      return this.#rejectInput(callId, name, rawInput, 'CUSTODY_INPUT_INVALID', shapeProblem, spanId);
    }
    const parsed: z.ZodSafeParseResult<unknown> = tool.input.safeParse(rawInput);
    if (!parsed.success) {
      const issues: InputIssue[] = parsed.error.issues.map((issue) => ({
        path: issue.path.map(String).join('.'),
        message: issue.message,
        code: issue.code,
      }));
      const message = `tool "${name}" input is invalid: ${issues
        .map((issue) => (issue.path ? `${issue.path}: ${issue.message}` : issue.message))
        .join('; ')}`;
      this.#recordRawRequest(callId, name, rawInput, spanId);
      rec.recordOwned(
        EventTypes.inputRejected,
        { callId, tool: name, code: 'CUSTODY_INPUT_INVALID', message, issues },
        spanId,
      );
      await this.#flushQuietly();
      return { status: 'invalid', callId, tool: name, code: 'CUSTODY_INPUT_INVALID', message, issues };
    }
    // From here on every step sees one frozen snapshot of the validated input, never the caller's object.
    let snapshot: CallInput;
    try {
      snapshot = snapshotCallInput(parsed.data, { redaction: this.#rt.redaction, limits: this.#rt.limits });
    } catch (error) {
      const code: CustodyErrorCode =
        CustodyError.isInstance(error) && error.code === 'CUSTODY_INPUT_INVALID'
          ? 'CUSTODY_INPUT_INVALID'
          : 'CUSTODY_CANONICAL_INVALID';
      const what = code === 'CUSTODY_INPUT_INVALID' ? 'is too large' : 'cannot be recorded';
      return this.#rejectInput(
        callId,
        name,
        rawInput,
        code,
        { path: '', message: `${what}: ${(error as Error).message}` },
        spanId,
      );
    }
    const input = snapshot.value;
    const inputJson = snapshot.recordedJson;
    const needsKey = tool.effect !== 'read' || options.idempotencyKey !== undefined;
    const fingerprint = needsKey ? sha256Hex(`${name}\n${tool.version}\n${snapshot.boundJson}`) : undefined;
    const idempotencyKey = needsKey ? (options.idempotencyKey ?? `${this.runId}:${fingerprint}`) : undefined;
    // Encoded once, for every event of this call.
    const callIdJson = JSON.stringify(callId);
    const toolJson = JSON.stringify(name);
    const requested: Record<string, unknown> = {
      callId,
      tool: name,
      version: tool.version,
      effect: tool.effect,
      input: snapshot.recorded,
    };
    if (idempotencyKey !== undefined) requested.idempotencyKey = idempotencyKey;
    rec.recordOwned(
      EventTypes.toolRequested,
      requested,
      spanId,
      requestedJson(callIdJson, tool.effect, idempotencyKey, inputJson, toolJson, tool.version),
    );

    // 3. Mode: the kill switch and read-only safe mode.
    const mode = this.#rt.modes.effective(this.scope.tenant, tool.connector);
    if (!modeAllows(mode.mode, tool.effect)) {
      span.setAttribute(CustodyAttributes.mode, mode.mode);
      return this.#deny(
        callId,
        name,
        'CUSTODY_MODE_BLOCKED',
        `"${name}" (${tool.effect}) cannot run: mode is ${mode.mode} for ${describeModeTarget(mode.setAt)}`,
        spanId,
      );
    }

    // Scopes the tool requires, held by the acting principal (and by the user it acts for).
    for (const required of tool.scopes) {
      if (!scopeGranted(this.principal.scopes, required)) {
        return this.#deny(
          callId,
          name,
          'CUSTODY_SCOPE_MISSING',
          `${this.#actorRef} lacks scope "${required}" required by "${name}"`,
          spanId,
        );
      }
      if (this.onBehalfOf?.scopes !== undefined && !scopeGranted(this.onBehalfOf.scopes, required)) {
        return this.#deny(
          callId,
          name,
          'CUSTODY_SCOPE_MISSING',
          `${principalRef(this.onBehalfOf)}, on whose behalf the agent acts, lacks scope "${required}" required by "${name}"`,
          spanId,
        );
      }
    }

    // Resource scoping: the call must stay inside the run's tenant / workspace / project / customer.
    let resource: ResourceScope = this.scope;
    if (tool.resource) {
      let declared: Partial<ResourceScope>;
      try {
        declared = tool.resource(input) ?? {};
      } catch (error) {
        return this.#deny(
          callId,
          name,
          'CUSTODY_RESOURCE_OUT_OF_SCOPE',
          `could not resolve the resource of "${name}" (${(error as Error)?.message ?? String(error)}); denied`,
          spanId,
        );
      }
      const outside = resourceOutsideScope(this.scope, declared);
      if (outside) {
        return this.#deny(
          callId,
          name,
          'CUSTODY_RESOURCE_OUT_OF_SCOPE',
          `"${name}" targets ${outside.level} "${outside.got}" but this run is bound to ${outside.level} "${outside.expected}"`,
          spanId,
        );
      }
      resource = Object.freeze({ ...this.scope, ...stripUndefined(declared) }) as ResourceScope;
    }

    // 5. Policy.
    const decided = this.#decide(tool, input, resource);
    const decision = decided instanceof Promise ? await decided : decided;
    rec.recordOwned(
      EventTypes.policyDecided,
      {
        callId,
        tool: name,
        effect: decision.effect,
        policy: decision.policy,
        ruleIds: decision.ruleIds,
        reasons: decision.reasons,
        approvers: decision.approvers,
        errors: decision.errors,
        resource,
      },
      spanId,
      decidedJson(
        callIdJson,
        toolJson,
        decision,
        resource === this.scope ? this.#scopeCanonical() : canonicalize(resource),
      ),
    );
    span.setAttribute(CustodyAttributes.policyDecision, decision.effect);
    span.setAttribute(CustodyAttributes.policyId, decision.policy.id);
    span.setAttribute(CustodyAttributes.policyVersion, decision.policy.version);
    span.setAttribute(CustodyAttributes.policyHash, decision.policy.hash);
    span.setAttribute(CustodyAttributes.policyRuleIds, decision.ruleIds as string[]);

    if (decision.effect === 'deny') {
      await this.#flushQuietly();
      const code: CustodyErrorCode = decision.errors?.length
        ? 'CUSTODY_POLICY_ERROR'
        : 'CUSTODY_POLICY_DENIED';
      return {
        status: 'denied',
        callId,
        tool: name,
        code,
        reason: decision.reasons.join('; ') || `policy ${decision.policy.id} denied "${name}"`,
        decision,
      };
    }
    if (decision.effect === 'require_approval') {
      return this.#requestApproval(tool, snapshot, resource, decision, callId, span, spanId);
    }

    // 6. Claim the idempotency key: a completed key returns its stored result, never executes again.
    const tenant = this.scope.tenant;
    if (idempotencyKey !== undefined && fingerprint !== undefined) {
      let claim: Awaited<ReturnType<RuntimeInternals['stores']['idempotency']['claim']>>;
      try {
        claim = await this.#rt.stores.idempotency.claim({
          tenant,
          key: idempotencyKey,
          fingerprint,
          callId,
          leaseMs: this.#rt.idempotencyLeaseMs,
          now: this.#rt.clock.now(),
        });
      } catch (error) {
        return this.#notRun(
          callId,
          name,
          `could not claim its idempotency key: ${errorMessage(error)}`,
          error,
          spanId,
        );
      }
      if (claim.status !== 'claimed') {
        span.setAttribute(CustodyAttributes.idempotencyHit, true);
        return this.#idempotencyAnswer(claim, callId, name, idempotencyKey, decision, spanId);
      }
    }

    // Write-ahead: the request and the decision are durable before anything touches the world.
    try {
      await rec.flush();
    } catch (error) {
      if (idempotencyKey !== undefined) await this.#releaseQuietly(tenant, idempotencyKey, callId);
      return failedResult(
        callId,
        name,
        'CUSTODY_LEDGER_WRITE_FAILED',
        (error as Error).message,
        true,
        false,
        error,
      );
    }
    if (options.signal?.aborted) {
      if (idempotencyKey !== undefined) await this.#releaseQuietly(tenant, idempotencyKey, callId);
      rec.recordOwned(
        EventTypes.toolResult,
        { callId, tool: name, status: 'failed', code: 'CUSTODY_ABORTED', executed: false },
        spanId,
      );
      await this.#flushQuietly();
      return failedResult(
        callId,
        name,
        'CUSTODY_ABORTED',
        `call to "${name}" was aborted before it ran`,
        true,
        false,
      );
    }

    // 7. Execute.
    const context: ToolContext = Object.freeze({
      signal: options.signal ?? NEVER_ABORTED,
      idempotencyKey,
      callId,
      runId: this.runId,
      principal: this.principal,
      scope: resource,
      attempt: 1,
    });
    const started = this.#rt.clock.now();
    rec.recordOwned(
      EventTypes.executionAttempt,
      { callId, tool: name, attempt: 1 },
      spanId,
      attemptJson(callIdJson, toolJson, 1),
    );
    let rawOutput: unknown;
    try {
      // Only a recording span needs to become the active context (so the tool's own
      // instrumentation nests under it); skipping it saves a context allocation per call.
      rawOutput = await (span.isRecording()
        ? otelContext.with(trace.setSpan(this.#context, span), () => tool.execute(input, context))
        : tool.execute(input, context));
    } catch (error) {
      const aborted = context.signal.aborted;
      const code: CustodyErrorCode = aborted ? 'CUSTODY_ABORTED' : 'CUSTODY_EXECUTION_FAILED';
      return this.#finishFailed({
        callId,
        name,
        code,
        message: `tool "${name}" failed: ${errorMessage(error)}`,
        retryable: !aborted,
        cause: error,
        idempotencyKey,
        fingerprint,
        spanId,
        started,
        secretsFrom: [input],
      });
    }

    // 8. Validate the output, then verify writes.
    const outputParsed: z.ZodSafeParseResult<unknown> = tool.output.safeParse(rawOutput);
    if (!outputParsed.success) {
      const detail = outputParsed.error.issues
        .map((issue) => `${issue.path.map(String).join('.') || 'output'}: ${issue.message}`)
        .join('; ');
      return this.#finishFailed({
        callId,
        name,
        code: 'CUSTODY_OUTPUT_INVALID',
        message: `tool "${name}" returned output that does not match its schema (${detail}); it did run`,
        retryable: false,
        cause: undefined,
        idempotencyKey,
        fingerprint,
        spanId,
        started,
        secretsFrom: [input, rawOutput],
      });
    }
    // The output as recorded, frozen: verify and compensate see what the ledger will keep, and the
    // tool's own object (which it may still hold) no longer matters.
    let outputJson: string;
    try {
      outputJson = canonicalize(outputParsed.data);
    } catch (error) {
      return this.#finishFailed({
        callId,
        name,
        code: 'CUSTODY_CANONICAL_INVALID',
        message: `tool "${name}" ran, but its output cannot be recorded: ${errorMessage(error)}`,
        retryable: false,
        cause: error,
        idempotencyKey,
        fingerprint,
        spanId,
        started,
        secretsFrom: [input],
      });
    }
    const output = frozenFromJson(outputJson);
    let verification: { ok: boolean; details?: unknown } | undefined;
    if (tool.verify && tool.effect !== 'read') {
      verification = await this.#verify(tool, input, output, context, spanId);
      span.setAttribute(CustodyAttributes.verification, verification.ok ? 'ok' : 'mismatch');
      if (!verification.ok) {
        const compensated = await this.#compensate(tool, input, output, context, spanId);
        const message =
          `tool "${name}" ran but verification found the world does not match its output` +
          (compensated === undefined
            ? ''
            : compensated
              ? '; the action was compensated'
              : '; compensation failed');
        return this.#finishFailed({
          callId,
          name,
          code: 'CUSTODY_VERIFY_MISMATCH',
          message,
          retryable: false,
          cause: undefined,
          idempotencyKey,
          fingerprint,
          spanId,
          started,
          secretsFrom: [input, output],
        });
      }
    }

    // 9. Record the result and complete the idempotency record. The agent receives the output as
    // recorded (parsed back from its canonical JSON), so a replay, which can only answer with the
    // recording, hands it exactly the same value: same keys, same order.
    const redaction = this.#rt.redaction;
    const recordedOutput = redaction ? deepFreeze(redaction.mask(output)) : output;
    const recordedJson = redaction ? canonicalize(recordedOutput) : outputJson;
    const durationMs = this.#rt.clock.now() - started;
    rec.recordOwned(
      EventTypes.toolResult,
      { callId, tool: name, status: 'ok', output: recordedOutput, durationMs },
      spanId,
      okResultJson(callIdJson, toolJson, durationMs, recordedJson),
    );
    // The agent's own copy: it may change it freely.
    const delivered: unknown = JSON.parse(outputJson);
    if (idempotencyKey !== undefined && fingerprint !== undefined) {
      await this.#completeKey(
        callId,
        name,
        idempotencyKey,
        fingerprint,
        {
          status: 'ok',
          // The ledger's frozen (and redacted) copy: nobody can change it.
          output: recordedOutput,
        },
        spanId,
      );
    }
    span.setAttribute(CustodyAttributes.idempotencyHit, false);
    try {
      await rec.flush();
    } catch (error) {
      return failedResult(
        callId,
        name,
        'CUSTODY_LEDGER_WRITE_FAILED',
        `tool "${name}" ran but its result could not be written yet: ${(error as Error).message}`,
        false,
        true,
        error,
      );
    }
    return verification
      ? { status: 'ok', callId, tool: name, output: delivered, idempotencyHit: false, decision, verification }
      : { status: 'ok', callId, tool: name, output: delivered, idempotencyHit: false, decision };
  }

  /** Asks the policy; stays synchronous (no extra microtask) when the policy answers at once. */
  #decide(tool: AnyTool, input: unknown, resource: ResourceScope): PolicyDecision | Promise<PolicyDecision> {
    const request: PolicyRequest = {
      tool: {
        name: tool.name,
        version: tool.version,
        connector: tool.connector,
        action: tool.action,
        effect: tool.effect,
        scopes: tool.scopes,
      },
      input,
      resource,
      run: this.#policyRun,
    };
    try {
      const answer = this.#rt.policy.decide(request);
      return answer instanceof Promise
        ? answer.then(
            (decision) => this.#checkedDecision(decision),
            (error) => this.#failedDecision(error, input),
          )
        : this.#checkedDecision(answer);
    } catch (error) {
      return this.#failedDecision(error, input);
    }
  }

  // A policy that throws, rejects or answers nonsense never allows.
  #checkedDecision(decision: PolicyDecision): PolicyDecision {
    return decision &&
      (decision.effect === 'allow' || decision.effect === 'deny' || decision.effect === 'require_approval')
      ? decision
      : this.#failedDecision(
          new Error(`policy returned ${describeValue(decision?.effect ?? decision)} instead of a decision`),
          undefined,
        );
  }

  #failedDecision(error: unknown, input: unknown): PolicyDecision {
    const policy = this.#rt.policy;
    const message = this.#maskText(errorMessage(error), [input]);
    return {
      effect: 'deny',
      policy: policy.ref,
      ruleIds: [],
      reasons: [`policy ${policy.ref.id} failed to decide: ${message}`],
      errors: [{ ruleId: '(policy)', message }],
    };
  }

  /**
   * Error text with secrets masked: the values the redaction policy masks inside `values`
   * wherever they occur, and secrets in the shapes text gives them (headers, query strings,
   * bearer tokens, URL passwords) always.
   */
  #maskText(text: string, values: readonly unknown[]): string {
    const redaction = this.#rt.redaction;
    const secrets = redaction ? values.flatMap((value) => redaction.secretsIn(value)) : [];
    return maskSecretsInText(
      text,
      secrets,
      redaction ? { keys: redaction.keys, replacement: redaction.replacement } : {},
    );
  }

  async #requestApproval(
    tool: AnyTool,
    input: CallInput,
    resource: ResourceScope,
    decision: PolicyDecision,
    callId: string,
    span: Span,
    spanId: string,
  ): Promise<CallResult> {
    // The digest binds masked values through their keyed hashes; the request stores them masked.
    const digest = computeActionDigest({
      principal: this.principal,
      onBehalfOf: this.onBehalfOf,
      agent: this.agent,
      tool,
      resource,
      input: input.bound,
      policy: decision.policy,
    });
    const now = this.#rt.clock.now();
    const id = this.#rt.ids.next('approval');
    const approvers = decision.approvers ?? [];
    const expiresAt = new Date(now + this.#rt.approvalTtlMs).toISOString();
    try {
      await this.#rt.stores.approvals.create({
        id,
        digest,
        status: 'pending',
        tenant: this.scope.tenant,
        runId: this.runId,
        callId,
        tool: { name: tool.name, version: tool.version },
        input: input.recorded,
        resource,
        requestedBy: this.#actorRef,
        onBehalfOf: this.onBehalfOf ? principalRef(this.onBehalfOf) : null,
        agent: { id: this.agent.id, version: this.agent.version },
        approvers,
        policy: decision.policy,
        ruleIds: decision.ruleIds,
        reasons: decision.reasons,
        createdAt: new Date(now).toISOString(),
        expiresAt,
      });
    } catch (error) {
      return this.#notRun(
        callId,
        tool.name,
        `could not store its approval request: ${errorMessage(error)}`,
        error,
        spanId,
      );
    }
    this.#recorder.recordOwned(
      EventTypes.approvalRequested,
      { callId, tool: tool.name, approvalId: id, digest, approvers, expiresAt },
      spanId,
    );
    span.setAttribute(CustodyAttributes.approvalId, id);
    span.setAttribute(CustodyAttributes.approvalStatus, 'pending');
    await this.#flushQuietly();
    return {
      status: 'pending_approval',
      callId,
      tool: tool.name,
      approval: { id, digest, approvers, expiresAt },
      decision,
    };
  }

  async #idempotencyAnswer(
    claim: Exclude<
      Awaited<ReturnType<RuntimeInternals['stores']['idempotency']['claim']>>,
      { status: 'claimed' }
    >,
    callId: string,
    name: string,
    key: string,
    decision: PolicyDecision,
    spanId: string,
  ): Promise<CallResult> {
    const payload: Record<string, unknown> = { callId, tool: name, key, status: claim.status };
    if (claim.status === 'completed') {
      payload.originalCallId = claim.record.callId;
      // The answer given instead of executing, so the run's story (and a replay) is complete.
      payload.outcome = claim.record.outcome;
    }
    this.#recorder.record(EventTypes.idempotencyHit, payload, spanId);
    await this.#flushQuietly();
    if (claim.status === 'in_progress') {
      return failedResult(
        callId,
        name,
        'CUSTODY_IDEMPOTENCY_IN_PROGRESS',
        `another call with idempotency key "${key}" is executing; it was not run twice. Retry later to get its result`,
        true,
        false,
      );
    }
    if (claim.status === 'conflict') {
      return failedResult(
        callId,
        name,
        'CUSTODY_IDEMPOTENCY_CONFLICT',
        `idempotency key "${key}" was already used with different input; use a new key for a different call`,
        false,
        false,
      );
    }
    const outcome = claim.record.outcome as {
      status: string;
      output?: unknown;
      code?: CustodyErrorCode;
      message?: string;
    };
    if (outcome.status === 'ok') {
      // A copy in canonical key order, as every recorded answer is delivered.
      const output = JSON.parse(canonicalize(outcome.output ?? null));
      return { status: 'ok', callId, tool: name, output, idempotencyHit: true, decision };
    }
    return failedResult(
      callId,
      name,
      outcome.code ?? 'CUSTODY_EXECUTION_FAILED',
      `${outcome.message ?? 'the earlier call failed'} (stored result of call ${claim.record.callId}; ` +
        'pass a new idempotencyKey to try again)',
      false,
      false,
    );
  }

  /**
   * The tool ran and the call failed: records the failure, keeps it under the idempotency key and
   * answers `failed`. The message and the error's text are masked first (`secretsFrom` holds the
   * values whose masked fields must not reappear in words).
   */
  async #finishFailed(failure: {
    callId: string;
    name: string;
    code: CustodyErrorCode;
    message: string;
    retryable: boolean;
    cause: unknown;
    idempotencyKey: string | undefined;
    fingerprint: string | undefined;
    spanId: string;
    started: number;
    secretsFrom: readonly unknown[];
  }): Promise<CallFailed> {
    const { callId, name, code, retryable, cause, idempotencyKey, fingerprint, spanId, started } = failure;
    const mask = (text: string) => this.#maskText(text, failure.secretsFrom);
    const message = mask(failure.message);
    this.#recorder.recordOwned(
      EventTypes.toolResult,
      {
        callId,
        tool: name,
        status: 'failed',
        code,
        message,
        executed: true,
        error: cause === undefined ? undefined : errorRecord(cause, mask),
        durationMs: this.#rt.clock.now() - started,
      },
      spanId,
    );
    if (idempotencyKey !== undefined && fingerprint !== undefined) {
      // The tool ran: its outcome is unknown to the world, so the key keeps the failure rather
      // than letting a retry execute a second time.
      await this.#completeKey(
        callId,
        name,
        idempotencyKey,
        fingerprint,
        { status: 'failed', code, message },
        spanId,
      );
    }
    await this.#flushQuietly();
    return failedResult(callId, name, code, message, retryable, true, cause);
  }

  /** A store failed before the tool ran: record it and answer `failed`, never throw. */
  async #notRun(
    callId: string,
    name: string,
    what: string,
    error: unknown,
    spanId: string,
  ): Promise<CallFailed> {
    const message = this.#maskText(`tool "${name}" did not run: ${what}`, []);
    this.#recorder.recordOwned(
      EventTypes.toolResult,
      { callId, tool: name, status: 'failed', code: 'CUSTODY_STORE_ERROR', message, executed: false },
      spanId,
    );
    await this.#flushQuietly();
    return failedResult(callId, name, 'CUSTODY_STORE_ERROR', message, true, false, error);
  }

  /**
   * Stores the outcome under its key. If the store fails, the call's outcome stands (the tool did
   * run) and the failure is recorded: until the lease runs out, a repeat still finds the key taken.
   */
  async #completeKey(
    callId: string,
    name: string,
    key: string,
    fingerprint: string,
    outcome: Record<string, unknown>,
    spanId: string,
  ): Promise<void> {
    try {
      await this.#rt.stores.idempotency.complete({
        tenant: this.scope.tenant,
        key,
        fingerprint,
        callId,
        outcome,
        completedAt: this.#rt.clock.now(),
        ttlMs: this.#rt.idempotencyTtlMs,
      });
    } catch (error) {
      this.#recorder.recordOwned(
        EventTypes.idempotencyStoreFailed,
        {
          callId,
          tool: name,
          key,
          leaseMs: this.#rt.idempotencyLeaseMs,
          error: this.#maskText(errorMessage(error), []),
        },
        spanId,
      );
    }
  }

  async #verify(
    tool: AnyTool,
    input: unknown,
    output: unknown,
    context: ToolContext,
    spanId: string,
  ): Promise<{ ok: boolean; details?: unknown }> {
    let outcome: { ok: boolean; details?: unknown };
    try {
      const answer: VerifyOutcome = await tool.verify!({ input, output, context });
      outcome =
        typeof answer === 'boolean' ? { ok: answer } : { ok: answer.ok === true, details: answer.details };
    } catch (error) {
      outcome = { ok: false, details: { error: this.#maskText(errorMessage(error), [input, output]) } };
    }
    try {
      this.#recorder.record(
        EventTypes.verification,
        { callId: context.callId, tool: tool.name, ...outcome },
        spanId,
      );
    } catch (error) {
      this.#recorder.record(
        EventTypes.verification,
        {
          callId: context.callId,
          tool: tool.name,
          ok: outcome.ok,
          details: { unrecordable: errorMessage(error) },
        },
        spanId,
      );
    }
    return outcome;
  }

  async #compensate(
    tool: AnyTool,
    input: unknown,
    output: unknown,
    context: ToolContext,
    spanId: string,
  ): Promise<boolean | undefined> {
    if (!tool.compensate) return undefined;
    try {
      await tool.compensate({ input, output, context });
      this.#recorder.recordOwned(
        EventTypes.compensation,
        { callId: context.callId, tool: tool.name, ok: true },
        spanId,
      );
      return true;
    } catch (error) {
      this.#recorder.recordOwned(
        EventTypes.compensation,
        {
          callId: context.callId,
          tool: tool.name,
          ok: false,
          error: this.#maskText(errorMessage(error), [input, output]),
        },
        spanId,
      );
      return false;
    }
  }

  async #deny(
    callId: string,
    name: string,
    code: CustodyErrorCode,
    reason: string,
    spanId: string,
  ): Promise<CallResult> {
    this.#recorder.recordOwned(EventTypes.toolDenied, { callId, tool: name, code, reason }, spanId);
    await this.#flushQuietly();
    return { status: 'denied', callId, tool: name, code, reason };
  }

  /**
   * Answers `invalid` for an input refused before validation could finish (too deep, circular, too
   * large, not recordable): records the request without the input when the input itself is the
   * problem, and the reason.
   */
  async #rejectInput(
    callId: string,
    name: string,
    rawInput: unknown,
    code: 'CUSTODY_INPUT_INVALID' | 'CUSTODY_CANONICAL_INVALID',
    problem: InputLimitProblem,
    spanId: string,
  ): Promise<CallResult> {
    const message = this.#maskText(`tool "${name}" input ${problem.message}`, []);
    const issues: InputIssue[] = [{ path: problem.path, message }];
    if (code === 'CUSTODY_INPUT_INVALID' && problem.path !== '') {
      // Too deep or circular: walking it again to record it is what must not happen.
      this.#recorder.recordOwned(
        EventTypes.toolRequested,
        { callId, tool: name, input: null, inputUnrecordable: message },
        spanId,
      );
    } else {
      this.#recordRawRequest(callId, name, rawInput, spanId);
    }
    this.#recorder.recordOwned(
      EventTypes.inputRejected,
      { callId, tool: name, code, message, issues },
      spanId,
    );
    await this.#flushQuietly();
    return { status: 'invalid', callId, tool: name, code, message, issues };
  }

  /** Records what the agent asked for even when it is not valid or not recordable as given. */
  #recordRawRequest(callId: string, name: string, rawInput: unknown, spanId: string): void {
    try {
      this.#recorder.record(EventTypes.toolRequested, { callId, tool: name, input: rawInput }, spanId);
    } catch (error) {
      this.#recorder.recordOwned(
        EventTypes.toolRequested,
        { callId, tool: name, input: null, inputUnrecordable: this.#maskText(errorMessage(error), []) },
        spanId,
      );
    }
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
    if (typeof role !== 'string' || role === '')
      throw invalidArgument(`run.model role must be a non-empty string, got ${describeValue(role)}`);
    if (typeof request?.model !== 'string' || !Array.isArray(request.messages)) {
      throw invalidArgument('run.model request needs a model name and a messages array');
    }
    const provider = this.#rt.model;
    if (!provider) {
      throw invalidArgument(
        'run.model was called but the runtime has no model provider: pass `model` to createRuntime',
      );
    }
    // The request as recorded, frozen: the provider is sent exactly what the ledger keeps.
    let sent: ModelRequest;
    try {
      sent = frozenFromJson(canonicalize(request));
    } catch (error) {
      throw new CustodyError(
        'CUSTODY_CANONICAL_INVALID',
        `run.model request cannot be recorded, so it was not sent: ${(error as Error).message}`,
        { cause: error },
      );
    }
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
      const mask = (text: string) => this.#maskText(text, [sent]);
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
        await this.#flushQuietly();
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
    const documents = await retriever(query, { signal: options.signal ?? NEVER_ABORTED });
    if (!Array.isArray(documents)) {
      throw invalidArgument(
        `retriever for "${source}" must return an array of documents, got ${describeValue(documents)}`,
      );
    }
    const recorded = documents.map((doc, index) => {
      if (typeof doc?.id !== 'string' || typeof doc.content !== 'string') {
        throw invalidArgument(
          `retriever for "${source}" returned document ${index} without a string id and content`,
        );
      }
      return {
        id: doc.id,
        version: doc.version ?? null,
        contentHash: sha256Hex(doc.content),
        content: doc.content,
        metadata: doc.metadata ?? null,
      };
    });
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
    // Delivered as a replay will deliver them: id, content, and version and metadata when set.
    return recorded.map((doc) => ({
      id: doc.id,
      content: doc.content,
      ...(doc.version !== null ? { version: doc.version } : {}),
      ...(doc.metadata !== null ? { metadata: JSON.parse(canonicalize(doc.metadata)) } : {}),
    }));
  }

  /** The time, from the runtime's clock, recorded so a replay sees the same time. */
  now(): Date {
    this.#assertOpen('read the clock');
    const value = this.#rt.clock.now();
    const iso = new Date(value).toISOString();
    this.#recorder.recordOwned(EventTypes.clockRead, { value: iso }, this.#spanId);
    return new Date(value);
  }

  /** A fresh id, recorded so a replay gets the same id. */
  id(): string {
    this.#assertOpen('mint an id');
    const value = this.#rt.ids.next('id');
    this.#recorder.recordOwned(EventTypes.idGenerated, { value }, this.#spanId);
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
    this.#recorder.recordOwned(
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

  /** The run scope's canonical JSON, encoded once: most decisions are made for the scope itself. */
  #scopeCanonical(): string {
    if (this.#scopeJson === undefined) this.#scopeJson = canonicalize(this.scope);
    return this.#scopeJson;
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

  async #flushQuietly(): Promise<void> {
    // The outcome is already decided and nothing executes after this write; a store failure
    // leaves the events queued for the next flush rather than failing the (non-executing) call.
    try {
      await this.#recorder.flush();
    } catch {
      /* queued for the next flush */
    }
  }

  async #releaseQuietly(tenant: string, key: string, callId: string): Promise<void> {
    try {
      await this.#rt.stores.idempotency.release({ tenant, key, callId });
    } catch {
      /* the lease expires on its own */
    }
  }
}

/**
 * The tools a run's agent may be offered: on its allow-list, and needing no scope the principal
 * (or the user it acts for, when that user's scopes are listed) lacks; `allows` adds a check
 * (the mode, at runtime). Shared by the runtime and by replays, so both offer the same list.
 */
export function listVisibleTools(
  tools: Iterable<AnyTool>,
  run: Pick<Run, 'agent' | 'principal' | 'onBehalfOf'>,
  options: { allows?: (tool: AnyTool) => boolean; inputSchema: (tool: AnyTool) => unknown },
): VisibleTool[] {
  const visible: VisibleTool[] = [];
  for (const tool of tools) {
    if (!matchesAny(run.agent.tools, tool.name)) continue;
    if (options.allows && !options.allows(tool)) continue;
    if (!tool.scopes.every((scope) => scopeGranted(run.principal.scopes, scope))) continue;
    const onBehalfOf = run.onBehalfOf;
    if (
      onBehalfOf?.scopes !== undefined &&
      !tool.scopes.every((scope) => scopeGranted(onBehalfOf.scopes, scope))
    )
      continue;
    visible.push({
      name: tool.name,
      version: tool.version,
      description: tool.description,
      effect: tool.effect,
      inputSchema: options.inputSchema(tool),
    });
  }
  return visible;
}

/**
 * The output of an `ok` result, or a {@link CustodyError} for any other outcome, its `code` saying
 * which. What `run.callOrThrow` does with `run.call`'s answer.
 */
export function outputOrThrow<O>(result: CallResult<O>): O {
  switch (result.status) {
    case 'ok':
      return result.output;
    case 'pending_approval':
      throw new CustodyError(
        'CUSTODY_APPROVAL_REQUIRED',
        `tool "${result.tool}" needs approval (request ${result.approval.id})`,
        {
          details: { callId: result.callId, approval: result.approval },
        },
      );
    case 'denied':
      throw new CustodyError(result.code, result.reason, {
        details: { callId: result.callId, tool: result.tool },
      });
    case 'invalid':
      throw new CustodyError(result.code, result.message, {
        details: { callId: result.callId, tool: result.tool, issues: result.issues },
      });
    case 'failed':
      throw new CustodyError(result.code, result.message, {
        cause: result.cause,
        details: { callId: result.callId, tool: result.tool, executed: result.executed },
      });
  }
}

function failedResult(
  callId: string,
  tool: string,
  code: CustodyErrorCode,
  message: string,
  retryable: boolean,
  executed: boolean,
  cause?: unknown,
): CallFailed {
  return cause === undefined
    ? { status: 'failed', callId, tool, code, message, retryable, executed }
    : { status: 'failed', callId, tool, code, message, retryable, executed, cause };
}

function assertIdempotencyKey(key: unknown): void {
  if (typeof key !== 'string' || key === '' || key.length > MAX_KEY_LENGTH || !key.isWellFormed()) {
    throw invalidArgument(
      `idempotencyKey must be a non-empty string of at most ${MAX_KEY_LENGTH} characters, got ${describeValue(key)}`,
    );
  }
}

function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return typeof error === 'string' ? error : describeValue(error);
}

/** What the ledger keeps of an error: its name, its code, and its message masked by `mask`. */
function errorRecord(
  error: unknown,
  mask: (text: string) => string,
): { name: string; message: string; code?: string } {
  if (CustodyError.isInstance(error))
    return { name: error.name, message: mask(error.message), code: error.code };
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string'
      ? { name: error.name, message: mask(error.message), code }
      : { name: error.name, message: mask(error.message) };
  }
  return { name: 'NonError', message: mask(errorMessage(error)) };
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [key, item] of Object.entries(value))
    if (item !== undefined) (out as Record<string, unknown>)[key] = item;
  return out;
}

function describeModeTarget(key: string): string {
  const [tenant, connector] = key.split('/');
  if (tenant === '*' && connector === '*') return 'everything (global)';
  if (connector === '*') return `tenant "${tenant}"`;
  if (tenant === '*') return `connector "${connector}"`;
  return `connector "${connector}" of tenant "${tenant}"`;
}
