import { CustodyError, describeValue } from '../errors.js';
import type { LedgerEvent } from '../ledger/event.js';
import type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
} from './idempotency-store.js';
import type { LedgerStore } from './ledger-store.js';

/** The completion of a claimed key, as {@link IdempotencyStore.complete} takes it. */
export type IdempotencyCompletion = IdempotencyRecord & { readonly ttlMs: number };

/** The release of a claimed key, as {@link IdempotencyStore.release} takes it. */
export interface IdempotencyRelease {
  readonly tenant: string;
  readonly key: string;
  readonly callId: string;
}

/**
 * What one side of a call's effect writes: the events sealed since the last commit, and at most
 * one idempotency change. (Later steps add their own: approval decisions, budget reservations.)
 */
export interface UnitOfWork {
  /** Sealed events to append, in order; may be empty. Appended whatever the claim's answer. */
  readonly events: readonly LedgerEvent[];
  /** Claim a key before the effect. */
  readonly claim?: IdempotencyClaimRequest;
  /** Store the outcome under a key after the effect. */
  readonly complete?: IdempotencyCompletion;
  /** Give a claimed key back (the effect never started). */
  readonly release?: IdempotencyRelease;
}

/** What a committed unit of work answers. */
export interface UnitOfWorkResult {
  /** The claim's answer, when the unit claimed a key. */
  readonly claim?: IdempotencyClaim;
}

/**
 * The unit-of-work port: commits a unit's ledger events and its idempotency change in one
 * transaction, so a gated write costs two durable commits (one before the effect, one after) and
 * a read one. Stores that share an engine (the SQLite file, the PostgreSQL database, memory)
 * offer it; the runtime uses it only together with the very `ledger` and `idempotency` stores it
 * names, and otherwise writes to each store on its own.
 *
 * Contract every adapter keeps (the conformance suite checks it):
 * - `commit` is atomic: the events and the idempotency change are durable together, or neither
 *   is (a rejected commit wrote nothing), and it resolves only once they are durable.
 * - The events obey the ledger port's rules (extend their stream, else `CUSTODY_LEDGER_CONFLICT`).
 * - A claim's answer is the one {@link IdempotencyStore.claim} would give; the events commit
 *   whatever it is (they record that the call was asked for).
 * - Concurrent commits may share one transaction (group commit); each settles on its own.
 */
export interface UnitOfWorkStore {
  readonly specificationVersion: 'v1';
  /** The stores whose writes this commits together. */
  readonly ledger: LedgerStore;
  readonly idempotency: IdempotencyStore;
  commit(work: UnitOfWork, options?: { signal?: AbortSignal }): Promise<UnitOfWorkResult>;
  /**
   * Optional capability of stores that keep everything in this process: `commit` without a
   * promise, throwing where `commit` would reject.
   */
  commitSync?(work: UnitOfWork): UnitOfWorkResult;
}

/**
 * Refuses what is not a unit of work, with `CUSTODY_INVALID_ARGUMENT`: every adapter's `commit`
 * calls it first, so a malformed unit is refused alike everywhere and writes nothing.
 */
export function assertUnitOfWork(work: unknown): asserts work is UnitOfWork {
  if (typeof work !== 'object' || work === null || !Array.isArray((work as UnitOfWork).events)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `unit of work commit takes { events, claim?, complete?, release? }, got ${describeValue(work)}`,
    );
  }
}
