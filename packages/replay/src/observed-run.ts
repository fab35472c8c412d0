import {
  type AnyTool,
  type CallOptions,
  type CallResult,
  type ModelRequest,
  type ModelResponse,
  outputOrThrow,
  type RetrievedDocument,
  type Retriever,
  type Run,
  type RunOutcome,
  type VisibleTool,
} from '@custody/core';

/** A tool call seen passing through the door, with its answer. */
export interface SeenCall {
  readonly step: number;
  readonly tool: string;
  readonly input: unknown;
  readonly result: CallResult;
}

/**
 * Wraps a Run so every tool call the agent makes is reported with the answer it got, and every
 * door use is counted (so a call knows its step). Everything else is passed through unchanged.
 */
export function observeCalls(inner: Run, onCall: (call: SeenCall) => void): Run {
  let step = 0;
  const call = async (tool: AnyTool | string, input: unknown, options?: CallOptions): Promise<CallResult> => {
    const at = step++;
    const result = await inner.call(tool as string, input, options);
    onCall({ step: at, tool: typeof tool === 'string' ? tool : tool.name, input, result });
    return result;
  };
  const observed: Run = {
    get runId() {
      return inner.runId;
    },
    get traceId() {
      return inner.traceId;
    },
    get principal() {
      return inner.principal;
    },
    get onBehalfOf() {
      return inner.onBehalfOf;
    },
    get agent() {
      return inner.agent;
    },
    get scope() {
      return inner.scope;
    },
    get metadata() {
      return inner.metadata;
    },
    get ended() {
      return inner.ended;
    },
    call,
    // Through our own `call`, so calls made with callOrThrow are observed too.
    callOrThrow: async (tool: AnyTool | string, input: unknown, options?: CallOptions) =>
      outputOrThrow(await call(tool, input, options)),
    model: (
      role: string,
      request: ModelRequest,
      options?: { signal?: AbortSignal },
    ): Promise<ModelResponse> => {
      step++;
      return inner.model(role, request, options);
    },
    retrieve: (
      source: string,
      query: string,
      retriever: Retriever,
      options?: { signal?: AbortSignal; sourceVersion?: string },
    ): Promise<readonly RetrievedDocument[]> => {
      step++;
      return inner.retrieve(source, query, retriever, options);
    },
    now: (): Date => {
      step++;
      return inner.now();
    },
    id: (): string => {
      step++;
      return inner.id();
    },
    tools: (): VisibleTool[] => inner.tools(),
    flush: (): Promise<void> => inner.flush(),
    end: (options: { outcome: RunOutcome; reason?: string }): Promise<void> => inner.end(options),
  } as Run;
  return observed;
}
