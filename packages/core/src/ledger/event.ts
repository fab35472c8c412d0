/** Version of the event envelope. Bumped only with a migration and a verifier for both. */
export const LEDGER_SCHEMA_VERSION = 1;

/** `prevHash` of the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

/** Every event type the runtime writes. Stores and exporters must accept types they don't know. */
export const EventTypes = {
  runStarted: 'run.started',
  runEnded: 'run.ended',
  modelCalled: 'model.called',
  retrievalPerformed: 'retrieval.performed',
  clockRead: 'clock.read',
  idGenerated: 'id.generated',
  toolRequested: 'tool.requested',
  toolDenied: 'tool.denied',
  inputRejected: 'tool.input_rejected',
  policyDecided: 'policy.decided',
  approvalRequested: 'approval.requested',
  idempotencyHit: 'idempotency.hit',
  idempotencyStoreFailed: 'idempotency.store_failed',
  executionAttempt: 'tool.attempt',
  toolResult: 'tool.result',
  verification: 'tool.verified',
  compensation: 'tool.compensated',
  modeChanged: 'mode.changed',
  redacted: 'ledger.redacted',
  exported: 'ledger.exported',
  pruned: 'ledger.pruned',
  holdPlaced: 'ledger.hold_placed',
  holdReleased: 'ledger.hold_released',
} as const;

/** One of {@link EventTypes}, or a type written by a newer version. */
export type EventType = (typeof EventTypes)[keyof typeof EventTypes] | (string & {});

/**
 * One ledger record: the hashed envelope plus the payload stored beside it.
 *
 * The chain links `hash` → next event's `prevHash` within one `stream` (a run, or a tenant's
 * operator stream). The envelope commits to the payload only through `payloadHash`, a salted
 * SHA-256 of the payload's canonical JSON, so a payload can later be erased (redaction) without
 * breaking verification, and the salt leaves nothing to brute-force once it is erased too.
 */
export interface LedgerEvent<P = unknown> {
  readonly schemaVersion: typeof LEDGER_SCHEMA_VERSION;
  /** Unique id of the event: `<stream>:<seq>`. */
  readonly id: string;
  /** Chain this event belongs to: the run id for run events. */
  readonly stream: string;
  /** Position in the stream, from 0, without gaps. */
  readonly seq: number;
  readonly runId: string | null;
  /** W3C trace id (32 hex) of the run's trace. */
  readonly traceId: string | null;
  /** Span id (16 hex) of the span that was active when the event was written. */
  readonly spanId: string | null;
  /** ISO 8601 UTC time with milliseconds, from the runtime's clock. */
  readonly ts: string;
  readonly type: EventType;
  readonly tenant: string;
  /** Who caused the event, as `kind:id` (e.g. `agent:triage@1.2.0`, `user:alice`). */
  readonly actor: string;
  /** SHA-256 hex of `salt` followed by the canonical JSON of `payload`. */
  readonly payloadHash: string;
  /** `hash` of the previous event in the stream, or {@link GENESIS_HASH}. */
  readonly prevHash: string;
  /** SHA-256 hex of the canonical JSON of the envelope (every field above). */
  readonly hash: string;
  /** What happened. `null` only once redacted. */
  readonly payload: P | null;
  /** 32 hex characters mixed into `payloadHash`. `null` only once redacted. */
  readonly salt: string | null;
}

/** The fields a writer chooses; the chain fills in the rest. */
export interface EventDraft<P = unknown> {
  stream: string;
  runId: string | null;
  traceId: string | null;
  spanId: string | null;
  ts: string;
  type: EventType;
  tenant: string;
  actor: string;
  payload: P;
}

/** The end of a stream's chain, as far as a writer has seen it. */
export interface ChainHead {
  readonly seq: number;
  readonly hash: string;
}
