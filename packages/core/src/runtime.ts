import { context as otelContext, SpanKind, type Tracer, trace } from '@opentelemetry/api';
import { z } from 'zod';
import { type Clock, systemClock } from './clock.js';
import type { ModelProvider } from './doors.js';
import { describeValue, invalidArgument } from './errors.js';
import { frozenFromJson } from './frozen-snapshot.js';
import { type IdSource, randomIds } from './ids.js';
import { type InputLimits, resolveInputLimits } from './input-limits.js';
import { canonicalize } from './ledger/canonical-json.js';
import { EventTypes } from './ledger/event.js';
import { createRedaction, type RedactionPolicy } from './ledger/redaction-policy.js';
import { assertMode, type Mode, ModeTable, type ModeTarget } from './mode.js';
import { createPipeline } from './pipeline/pipeline.js';
import type { PipelineExtension } from './pipeline/step.js';
import type { PolicyEngine } from './policy.js';
import {
  type AgentIdentity,
  type Principal,
  type PrincipalKind,
  principalRef,
  type ResourceScope,
} from './principal.js';
import { EventRecorder } from './recording/event-recorder.js';
import { appendToSharedStream } from './recording/stream-writer.js';
import { GatedRun } from './run.js';
import type { Run } from './run-contract.js';
import type { RuntimeInternals } from './runtime-internals.js';
import { createMemoryStores } from './stores/memory-stores.js';
import type { RuntimeStores } from './stores/stores.js';
import { CustodyAttributes, GenAiAttributes, GenAiOperations } from './telemetry/attributes.js';
import { type AnyTool, type ToolCatalogEntry, toolCatalogEntry } from './tool.js';

const DAY_MS = 24 * 60 * 60 * 1000;

/** Options of {@link createRuntime}. */
export interface RuntimeOptions {
  /** Every tool the app exposes to agents, built with `defineTool`. */
  tools: readonly AnyTool[];
  /** The policy that decides every call (`definePolicy` from `@custody/policy`, or your own engine). */
  policy: PolicyEngine;
  /** Stores to use; any you leave out are in memory. */
  stores?: Partial<RuntimeStores>;
  clock?: Clock;
  ids?: IdSource;
  /** Defaults to the global tracer provider's `@custody/core` tracer (a no-op until an SDK is registered). */
  tracer?: Tracer;
  /** The function `run.model()` calls. */
  model?: ModelProvider;
  /**
   * Property names masked before anything is stored (events, approval requests, idempotency
   * results): secrets are never written. Pass `{}` for a sensible default list.
   */
  redaction?: RedactionPolicy;
  /** How large an input a call takes (nesting depth, canonical size); past them a call is `invalid`. */
  limits?: InputLimits;
  /** How long an approval request stays open. Default 24 hours. */
  approvalTtlMs?: number;
  /**
   * Steps packages add to the gated pipeline (a budget around execution, connector reliability
   * around `execute`); see `PipelineExtension` and docs/pipeline.md.
   */
  extensions?: readonly PipelineExtension[];
  idempotency?: {
    /** How long a claim holds if its process dies mid-call. Default 5 minutes. */
    leaseMs?: number;
    /** How long a completed key returns its stored result. Default 24 hours (at least 24 h recommended). */
    ttlMs?: number;
  };
}

/** Options of {@link Runtime.startRun}. */
export interface StartRunOptions {
  /** Who acts: the agent's own principal (kind `agent` or `service`), or a user or workflow. */
  actor: Principal;
  /** The user an agent acts for, if any. Its scopes, when listed, also bound what the run may do. */
  onBehalfOf?: Principal;
  agent: AgentIdentity;
  scope: ResourceScope;
  /** JSON facts about the run (ticket id, conversation id); recorded and visible to the policy. */
  metadata?: Record<string, unknown>;
  /** Trace context to start the run's trace under (defaults to the active context). */
  parentContext?: import('@opentelemetry/api').Context;
}

/**
 * A Custody runtime: the tool catalog, the policy, the stores and the mode table. Create one per
 * process with {@link createRuntime} and start a {@link Run} per agent task.
 */
export interface Runtime {
  /** Starts a run: records `run.started` durably and opens its trace. */
  startRun(options: StartRunOptions): Promise<Run>;
  /**
   * Sets the mode globally, for a tenant, for a connector or for a connector of a tenant, and
   * records the change (who, why) in the ledger.
   */
  setMode(mode: Mode, options: ModeTarget & { actor: Principal; reason: string }): Promise<void>;
  /** The effective mode for a tenant and connector. */
  modeFor(tenant: string, connector: string): Mode;
  /** A registered tool by name. */
  tool(name: string): AnyTool | undefined;
  readonly policy: PolicyEngine;
  readonly stores: RuntimeStores;
}

const PRINCIPAL_KINDS: readonly PrincipalKind[] = ['user', 'service', 'workflow', 'agent'];

/**
 * Creates a runtime. Zero-config beyond tools and policy: stores default to memory, telemetry to
 * the global OpenTelemetry API (a no-op with no SDK registered), the clock and ids to the system's.
 *
 * @example
 * ```ts
 * const runtime = createRuntime({ tools: [createIssue, refund], policy });
 * const run = await runtime.startRun({
 *   actor: { kind: 'agent', id: 'support-bot', scopes: ['jira:write'] },
 *   agent: { id: 'support-bot', version: '1.4.0', tools: ['jira.*', 'stripe.refund'] },
 *   scope: { tenant: 'acme' },
 * });
 * const result = await run.call('jira.create_issue', { summary: 'Refund request' });
 * await run.end({ outcome: 'succeeded' });
 * ```
 */
export function createRuntime(options: RuntimeOptions): Runtime {
  if (typeof options !== 'object' || options === null) {
    throw invalidArgument(`createRuntime expects an options object, got ${describeValue(options)}`);
  }
  const tools = indexTools(options.tools);
  const policy = options.policy;
  if (typeof policy?.decide !== 'function' || typeof policy.ref?.id !== 'string') {
    throw invalidArgument(
      `createRuntime needs a policy (definePolicy from @custody/policy, or an object with ref and decide), got ${describeValue(policy)}`,
    );
  }
  const memory = createMemoryStores();
  let stores: RuntimeStores = {
    ledger: options.stores?.ledger ?? memory.ledger,
    approvals: options.stores?.approvals ?? memory.approvals,
    idempotency: options.stores?.idempotency ?? memory.idempotency,
  };
  // One transaction per commit where the ledger and idempotency stores share an engine: the given
  // unit of work when it covers exactly the stores in use, the memory one when both are in memory.
  const unitOfWork = [options.stores?.unitOfWork, memory.unitOfWork].find(
    (unit) => unit?.ledger === stores.ledger && unit.idempotency === stores.idempotency,
  );
  if (unitOfWork) stores = { ...stores, unitOfWork };
  const clock = options.clock ?? systemClock;
  const ids = options.ids ?? randomIds;
  const tracer = options.tracer ?? trace.getTracer('@custody/core', '0.1.0');
  const modes = new ModeTable();
  const redaction = options.redaction === undefined ? undefined : createRedaction(options.redaction);
  const redact = redaction?.mask;
  const limits = resolveInputLimits(options.limits);
  const schemaCache = new WeakMap<AnyTool, unknown>();
  const toolNames = [...tools.keys()].sort().join(', ') || 'none';
  let catalogSnapshot: ToolCatalogEntry[] | undefined;
  // The tool catalog as every run records it: enough for a replay to tell a changed contract.
  const catalog = () => {
    catalogSnapshot ??= [...tools.values()].map((tool) => toolCatalogEntry(tool));
    return catalogSnapshot;
  };
  const internals: RuntimeInternals = {
    tools,
    policy,
    stores,
    clock,
    ids,
    tracer,
    modes,
    model: options.model,
    approvalTtlMs: positive(options.approvalTtlMs, DAY_MS, 'approvalTtlMs'),
    idempotencyLeaseMs: positive(options.idempotency?.leaseMs, 5 * 60 * 1000, 'idempotency.leaseMs'),
    idempotencyTtlMs: positive(options.idempotency?.ttlMs, DAY_MS, 'idempotency.ttlMs'),
    redact,
    redaction,
    limits,
    pipeline: createPipeline(options.extensions),
    toolNames: () => toolNames,
    inputSchema(tool) {
      if (!schemaCache.has(tool))
        schemaCache.set(tool, z.toJSONSchema(tool.input, { unrepresentable: 'any' }));
      return schemaCache.get(tool);
    },
  };
  // Operator events (mode changes) go to one stream per tenant, or `operator:*` for global ones.
  // Mode changes are applied in the order they were asked for, each once recorded.
  let modeWrites: Promise<unknown> = Promise.resolve();

  return {
    policy,
    stores,
    tool: (name) => tools.get(name),
    modeFor: (tenant, connector) => modes.effective(tenant, connector).mode,

    async setMode(mode, target) {
      assertMode(mode);
      if (typeof target?.reason !== 'string' || target.reason.trim() === '') {
        throw invalidArgument(
          'setMode needs a reason: say why the mode changes, it is recorded in the ledger',
        );
      }
      const actor = assertPrincipal(target.actor, 'setMode actor');
      const tenant = target.tenant ?? '*';
      const write = modeWrites.then(async () => {
        const previous = modes.effective(target.tenant ?? '*', target.connector ?? '*').mode;
        await appendToSharedStream(
          stores.ledger,
          {
            stream: `operator:${tenant}`,
            tenant,
            runId: null,
            actor: principalRef(actor),
            type: EventTypes.modeChanged,
            payload: {
              mode,
              previous,
              tenant: target.tenant ?? null,
              connector: target.connector ?? null,
              reason: target.reason,
              actor: principalRef(actor),
            },
          },
          clock,
          redact,
        );
        // Applied only once recorded: an unrecorded kill switch would be an unaudited one.
        modes.set(mode, {
          ...(target.tenant ? { tenant: target.tenant } : {}),
          ...(target.connector ? { connector: target.connector } : {}),
        });
      });
      modeWrites = write.catch(() => undefined);
      await write;
    },

    async startRun(runOptions) {
      if (typeof runOptions !== 'object' || runOptions === null) {
        throw invalidArgument(`startRun expects an options object, got ${describeValue(runOptions)}`);
      }
      const principal = assertPrincipal(runOptions.actor, 'startRun actor');
      const onBehalfOf =
        runOptions.onBehalfOf === undefined
          ? undefined
          : assertPrincipal(runOptions.onBehalfOf, 'startRun onBehalfOf');
      const agent = assertAgent(runOptions.agent);
      const scope = assertScope(runOptions.scope);
      let metadata: Readonly<Record<string, unknown>>;
      try {
        // A frozen copy: the policy sees what run.started records, whatever the caller changes later.
        metadata = frozenFromJson(canonicalize(runOptions.metadata ?? {}));
      } catch (error) {
        throw invalidArgument(`startRun metadata must be plain JSON: ${(error as Error).message}`);
      }
      const runId = ids.next('run');
      const parent = runOptions.parentContext ?? otelContext.active();
      const span = tracer.startSpan(
        `${GenAiOperations.invokeAgent} ${agent.id}`,
        {
          kind: SpanKind.INTERNAL,
          attributes: {
            [GenAiAttributes.operationName]: GenAiOperations.invokeAgent,
            [GenAiAttributes.agentName]: agent.id,
            [GenAiAttributes.agentId]: agent.id,
            [GenAiAttributes.conversationId]: runId,
            [CustodyAttributes.agentVersion]: agent.version,
            [CustodyAttributes.runId]: runId,
            [CustodyAttributes.tenant]: scope.tenant,
            [CustodyAttributes.principal]: principalRef(principal),
            ...(onBehalfOf ? { [CustodyAttributes.onBehalfOf]: principalRef(onBehalfOf) } : {}),
          },
        },
        parent,
      );
      const spanContext = span.spanContext();
      const valid = trace.isSpanContextValid(spanContext);
      // With no SDK registered the span is a no-op without ids: the ledger still gets a trace id.
      const traceId = valid ? spanContext.traceId : ids.traceId();
      const spanId = valid ? spanContext.spanId : ids.spanId();
      const recorder = new EventRecorder({
        stores,
        identity: { stream: runId, runId, traceId, tenant: scope.tenant, actor: principalRef(principal) },
        now: () => clock.now(),
        redact,
      });
      recorder.record(
        EventTypes.runStarted,
        {
          principal: principalRecord(principal),
          onBehalfOf: onBehalfOf ? principalRecord(onBehalfOf) : null,
          agent: { id: agent.id, version: agent.version, tools: [...agent.tools] },
          scope: { ...scope },
          metadata,
          policy: policy.ref,
          tools: catalog(),
        },
        spanId,
      );
      try {
        await recorder.flush();
      } catch (error) {
        span.end();
        throw error;
      }
      return new GatedRun({
        runtime: internals,
        runId,
        traceId,
        spanId,
        span,
        context: trace.setSpan(parent, span),
        recorder,
        principal,
        onBehalfOf,
        agent,
        scope,
        metadata,
      });
    },
  };
}

function indexTools(list: readonly AnyTool[]): Map<string, AnyTool> {
  if (!Array.isArray(list))
    throw invalidArgument(`createRuntime tools must be an array of tools, got ${describeValue(list)}`);
  const tools = new Map<string, AnyTool>();
  list.forEach((tool, index) => {
    if (
      typeof tool?.name !== 'string' ||
      typeof tool.execute !== 'function' ||
      typeof tool.connector !== 'string'
    ) {
      throw invalidArgument(`createRuntime tools[${index}] is not a tool: build it with defineTool()`);
    }
    if (tools.has(tool.name)) {
      throw invalidArgument(`createRuntime got two tools named "${tool.name}": tool names must be unique`);
    }
    tools.set(tool.name, tool);
  });
  return tools;
}

function positive(value: number | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value <= 0)
    throw invalidArgument(`${name} must be a positive number of milliseconds, got ${describeValue(value)}`);
  return value;
}

function nonEmpty(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.trim() === '' || !value.isWellFormed()) {
    throw invalidArgument(`${what} must be a non-empty string, got ${describeValue(value)}`);
  }
  return value;
}

function stringList(value: unknown, what: string): readonly string[] | undefined {
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'string' || item === '')) {
    throw invalidArgument(`${what} must be an array of non-empty strings, got ${describeValue(value)}`);
  }
  return Object.freeze([...value]);
}

function assertPrincipal(value: Principal | undefined, what: string): Principal {
  if (typeof value !== 'object' || value === null)
    throw invalidArgument(`${what} must be a principal { kind, id }, got ${describeValue(value)}`);
  if (!PRINCIPAL_KINDS.includes(value.kind)) {
    throw invalidArgument(
      `${what}.kind must be one of ${PRINCIPAL_KINDS.join(', ')}, got ${describeValue(value.kind)}`,
    );
  }
  const roles = stringList(value.roles, `${what}.roles`);
  const scopes = stringList(value.scopes, `${what}.scopes`);
  return Object.freeze({
    kind: value.kind,
    id: nonEmpty(value.id, `${what}.id`),
    ...(roles ? { roles } : {}),
    ...(scopes ? { scopes } : {}),
    ...(value.tenant !== undefined ? { tenant: nonEmpty(value.tenant, `${what}.tenant`) } : {}),
  });
}

function assertAgent(value: AgentIdentity | undefined): AgentIdentity {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(`startRun agent must be { id, version, tools }, got ${describeValue(value)}`);
  }
  const tools = stringList(value.tools, 'startRun agent.tools');
  if (!tools)
    throw invalidArgument(
      'startRun agent.tools must list the tools (globs allowed) the agent may call, e.g. ["jira.*"]',
    );
  return Object.freeze({
    id: nonEmpty(value.id, 'startRun agent.id'),
    version: nonEmpty(value.version, 'startRun agent.version'),
    tools,
  });
}

function assertScope(value: ResourceScope | undefined): ResourceScope {
  if (typeof value !== 'object' || value === null) {
    throw invalidArgument(
      `startRun scope must be { tenant, workspace?, project?, customer? }, got ${describeValue(value)}`,
    );
  }
  const scope: Record<string, string> = { tenant: nonEmpty(value.tenant, 'startRun scope.tenant') };
  for (const level of ['workspace', 'project', 'customer'] as const) {
    if (value[level] !== undefined) scope[level] = nonEmpty(value[level], `startRun scope.${level}`);
  }
  return Object.freeze(scope) as unknown as ResourceScope;
}

function principalRecord(principal: Principal): Record<string, unknown> {
  return {
    kind: principal.kind,
    id: principal.id,
    roles: principal.roles ? [...principal.roles] : [],
    // null, not [], when none were listed: for a represented user that means "not checked".
    scopes: principal.scopes ? [...principal.scopes] : null,
    tenant: principal.tenant ?? null,
  };
}
