/** A model call as it crosses the run's door: everything needed to reproduce it. */
export interface ModelRequest {
  /** Model name, e.g. `gpt-4.1-mini`. */
  readonly model: string;
  /** Provider name, e.g. `openai`, `anthropic` (`gen_ai.provider.name`). */
  readonly provider?: string;
  readonly messages: readonly unknown[];
  /** Tool definitions offered to the model, if any. */
  readonly tools?: readonly unknown[];
  /** Sampling and other parameters (temperature, max tokens, …). */
  readonly params?: Readonly<Record<string, unknown>>;
  /** The prompt template this request was built from, so a replay can tell a prompt change. */
  readonly promptTemplate?: { readonly id: string; readonly version: string };
}

/** A tool call the model asked for. */
export interface ModelToolCall {
  readonly id?: string;
  readonly name: string;
  readonly input: unknown;
}

/** What a model answered, as recorded. Keep it JSON. */
export interface ModelResponse {
  readonly text?: string;
  readonly toolCalls?: readonly ModelToolCall[];
  readonly usage?: { readonly inputTokens?: number; readonly outputTokens?: number };
  /** The model that actually answered, when the provider says. */
  readonly model?: string;
  readonly finishReason?: string;
}

/** The app's function that calls a model. Until the budget router routes by role, this is it. */
export type ModelProvider = (
  request: ModelRequest,
  context: { readonly role: string; readonly runId: string; readonly signal: AbortSignal },
) => Promise<ModelResponse>;

/** A document retrieved as context for the agent. */
export interface RetrievedDocument {
  readonly id: string;
  readonly content: string;
  /** Version of the document in its source (an etag, a revision). */
  readonly version?: string;
  readonly metadata?: Readonly<Record<string, unknown>>;
}

/** The app's retrieval function, called through `run.retrieve`. */
export type Retriever = (
  query: string,
  context: { readonly signal: AbortSignal },
) => Promise<readonly RetrievedDocument[]>;
