import { CustodyError, describeValue, invalidArgument } from './errors.js';
import { frozenFromJson } from './frozen-snapshot.js';
import { canonicalize } from './ledger/canonical-json.js';
import { sha256Hex } from './ledger/hash.js';
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

/** Checks the arguments of `run.model`, saying what to fix. */
export function assertModelCall(role: unknown, request: ModelRequest | undefined): void {
  if (typeof role !== 'string' || role === '')
    throw invalidArgument(`run.model role must be a non-empty string, got ${describeValue(role)}`);
  if (typeof request?.model !== 'string' || !Array.isArray(request.messages)) {
    throw invalidArgument('run.model request needs a model name and a messages array');
  }
}

/**
 * The model request as `run.model` records and sends it: frozen from its canonical
 * JSON, so the provider is sent exactly what the ledger keeps.
 */
export function recordableModelRequest(request: ModelRequest): ModelRequest {
  try {
    return frozenFromJson(canonicalize(request));
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_CANONICAL_INVALID',
      `run.model request cannot be recorded, so it was not sent: ${(error as Error).message}`,
      { cause: error },
    );
  }
}

/** A retrieved document as `retrieval.performed` records it. */
export interface RecordedDocument {
  readonly id: string;
  readonly version: string | null;
  readonly contentHash: string;
  readonly content: string;
  readonly metadata: Record<string, unknown> | null;
}

/** Checks what a retriever returned and shapes each document as the ledger records it. */
export function recordedDocuments(source: string, documents: unknown): RecordedDocument[] {
  if (!Array.isArray(documents)) {
    throw invalidArgument(
      `retriever for "${source}" must return an array of documents, got ${describeValue(documents)}`,
    );
  }
  return documents.map((doc: RetrievedDocument | undefined, index) => {
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
}

/** The documents as the agent gets them, as a replay will deliver them: id, content, and version and metadata when set. */
export function deliveredDocuments(recorded: readonly RecordedDocument[]): RetrievedDocument[] {
  return recorded.map((doc) => ({
    id: doc.id,
    content: doc.content,
    ...(doc.version !== null ? { version: doc.version } : {}),
    ...(doc.metadata !== null ? { metadata: JSON.parse(canonicalize(doc.metadata)) } : {}),
  }));
}
