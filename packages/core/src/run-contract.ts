import type { CallResult, ToolOutput } from './call-result.js';
import type { ModelRequest, ModelResponse, RetrievedDocument, Retriever } from './doors.js';
import type { AgentIdentity, Principal, ResourceScope } from './principal.js';
import type { AnyTool } from './tool.js';
import type { VisibleTool } from './visible-tools.js';

// What agent code is written against. The runtime's implementation is `GatedRun` (run.ts); a
// replay hands the agent another one that answers from the recording.

/** How a run ended. */
export type RunOutcome = 'succeeded' | 'failed' | 'abandoned' | 'rolled_back';

export const RUN_OUTCOMES: readonly RunOutcome[] = ['succeeded', 'failed', 'abandoned', 'rolled_back'];

/** Options of {@link Run.call}. */
export interface CallOptions {
  /**
   * Up to 255 characters. Defaults, for tools that change the world, to one derived from the run,
   * the tool and the canonical input, so the same call in the same run never executes twice.
   */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

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
