import type { LedgerCheckpoint } from '../ledger/checkpoint.js';
import type { ChainHead, LedgerEvent } from '../ledger/event.js';
import type { LedgerQuery } from '../ledger/ledger-query.js';

// The query filters live beside the events they match, so ledger/ reads them without this port.
export type { LedgerQuery } from '../ledger/ledger-query.js';

/** One page of events, in the order they were appended. */
export interface LedgerPage {
  readonly events: readonly LedgerEvent[];
  /** Present when more events match. */
  readonly nextCursor?: string;
}

/**
 * The ledger port: an append-only store of sealed events.
 *
 * Contract every adapter keeps (the conformance suite checks it):
 * - `append` is atomic for its batch and resolves only once the events are durable.
 * - Each event must extend its stream: `seq` is the head's seq + 1 (0 for a new stream) and
 *   `prevHash` the head's hash. Anything else rejects with `CUSTODY_LEDGER_CONFLICT` and writes
 *   nothing, so two writers can never fork a stream.
 * - Re-appending an event that is already stored, byte for byte, is a no-op.
 * - `read` returns events in append order.
 */
export interface LedgerStore {
  readonly specificationVersion: 'v1';
  append(events: readonly LedgerEvent[], options?: { signal?: AbortSignal }): Promise<void>;
  head(stream: string): Promise<ChainHead | undefined>;
  read(query?: LedgerQuery, options?: { signal?: AbortSignal }): Promise<LedgerPage>;
  /**
   * Optional capability: erase the payload and salt of one stored event (set both to null),
   * the only change an append-only ledger allows. The envelope, and so the chain, stays intact.
   * `createLedger().redact` records the redaction itself as a signed event first; this only
   * erases. Resolves false when no event has that id, true when the event is (or already was)
   * erased. Guards, checked where the erasure happens (the conformance suite holds every adapter
   * to them), refusing with nothing changed:
   * - `CUSTODY_LEGAL_HOLD` when the event's run or tenant is under legal hold: in stream
   *   `operator:<tenant>`, the latest `ledger.hold_placed` / `ledger.hold_released` for its run
   *   id, or for the tenant (`runId: null`), is a `hold_placed`;
   * - `CUSTODY_STORE_ERROR` unless a `ledger.redacted` event later in the same stream names the
   *   event by `payload.eventId` and its `payload.payloadHash`.
   * Stores do not check signatures: verification does. See `checkPayloadErasure`.
   */
  erasePayload?(eventId: string, options?: { signal?: AbortSignal }): Promise<boolean>;
  /** Optional capability: keep a (signed) checkpoint beside the events. */
  appendCheckpoint?(checkpoint: LedgerCheckpoint, options?: { signal?: AbortSignal }): Promise<void>;
  /** Optional capability: every stored checkpoint, oldest first. */
  listCheckpoints?(options?: { signal?: AbortSignal }): Promise<LedgerCheckpoint[]>;
  /**
   * Optional capability, for retention only: delete whole streams (every event of each).
   * `createLedger().prune` records a signed `ledger.pruned` event naming them and their heads
   * first, so checkpoints that covered them still verify. Resolves to the number of events
   * deleted; names of streams that do not exist are ignored. Guards, checked for every stream
   * before any is deleted, in the same transaction as the deletion (a refusal deletes nothing):
   * - `CUSTODY_LEGAL_HOLD` when a stream's run or tenant (those of its events) is under legal
   *   hold, as for `erasePayload`;
   * - `CUSTODY_STORE_ERROR` unless a `ledger.pruned` event in stream `operator:<tenant>` lists the
   *   stream with `seq` and `hash` equal to its current head.
   * Stores do not check signatures: verification does. See `checkStreamDeletion`.
   */
  deleteStreams?(streams: readonly string[], options?: { signal?: AbortSignal }): Promise<number>;
  /**
   * Optional capability of stores that keep events in this process: `append` without a promise,
   * throwing where `append` would reject. The runtime uses it when no other append of the stream
   * is in flight, which saves the promise hops of a write that has nothing to wait for.
   */
  appendSync?(events: readonly LedgerEvent[]): void;
  /** Optional capability: the head of every stream, cheaper than reading every event. */
  heads?(options?: { signal?: AbortSignal }): Promise<Record<string, ChainHead>>;
  close?(): Promise<void>;
}

/**
 * A ledger store that offers every optional capability of the port (erasure, stream heads, stored
 * checkpoints, retention) and `close`: what the durable adapters implement.
 */
export type FullLedgerStore = LedgerStore &
  Required<
    Pick<
      LedgerStore,
      'erasePayload' | 'heads' | 'appendCheckpoint' | 'listCheckpoints' | 'deleteStreams' | 'close'
    >
  >;

/**
 * Reads every page of a query. Convenient for tests, exports and verification of one run.
 *
 * @example
 * ```ts
 * const events = await readAll(stores.ledger, { runId: run.runId });
 * ```
 */
export async function readAll(
  ledger: LedgerStore,
  query: LedgerQuery = {},
  options: { signal?: AbortSignal } = {},
): Promise<LedgerEvent[]> {
  const events: LedgerEvent[] = [];
  let cursor: string | undefined;
  do {
    const page = await ledger.read(cursor === undefined ? query : { ...query, cursor }, options);
    events.push(...page.events);
    cursor = page.nextCursor;
  } while (cursor !== undefined);
  return events;
}
