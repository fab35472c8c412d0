import {
  CustodyError,
  describeValue,
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
  type IdempotencyRecord,
  type IdempotencyStore,
} from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { type PostgresPool, storeError, throwIfAborted, toNumber } from './database.js';
import type { SchemaNames } from './schema.js';

/** The PostgreSQL idempotency store: the port plus housekeeping. */
export interface PostgresIdempotencyStore extends IdempotencyStore {
  /**
   * Deletes completed records past their expiry and claims past their lease, as of `now` (epoch
   * ms, the runtime's clock). Optional: `claim` reuses expired keys anyway; this only keeps the
   * table small. Resolves the number of rows deleted.
   *
   * @example
   * ```ts
   * setInterval(() => void stores.idempotency.prune({ now: Date.now() }), 3_600_000);
   * ```
   */
  prune(options: { now: number; signal?: AbortSignal }): Promise<number>;
}

// A claim races at most a release or an expiry between its two statements; a handful of rounds
// always settles it.
const MAX_CLAIM_ROUNDS = 5;

/**
 * Idempotency keys in one row per (tenant, key). A claim is a single
 * `INSERT … ON CONFLICT DO UPDATE … WHERE <expired>`: it creates the key, or takes over one whose
 * lease or record has expired, atomically; when it changes nothing, a live owner exists and the
 * row says which answer to give. All times are the runtime's (`now` in the request), never the
 * database's, so fake clocks in tests behave as in memory.
 */
export class PostgresIdempotency implements PostgresIdempotencyStore {
  readonly specificationVersion = 'v1' as const;
  readonly #pool: () => Promise<PostgresPool>;
  readonly #names: SchemaNames;

  constructor(pool: () => Promise<PostgresPool>, names: SchemaNames) {
    this.#pool = pool;
    this.#names = names;
  }

  async claim(
    request: IdempotencyClaimRequest,
    options: { signal?: AbortSignal } = {},
  ): Promise<IdempotencyClaim> {
    throwIfAborted(options.signal, 'idempotency claim');
    checkEpoch(request.now, 'now');
    checkEpoch(request.leaseMs, 'leaseMs');
    const table = this.#names.idempotencyKeys;
    const pool = await this.#pool();
    try {
      for (let round = 0; round < MAX_CLAIM_ROUNDS; round++) {
        const taken = await pool.query(
          `INSERT INTO ${table} AS k (tenant, key, state, fingerprint, call_id, lease_expires_at)
           VALUES ($1, $2, 'claimed', $3, $4, $5)
           ON CONFLICT (tenant, key) DO UPDATE
             SET state = 'claimed', fingerprint = EXCLUDED.fingerprint, call_id = EXCLUDED.call_id,
                 lease_expires_at = EXCLUDED.lease_expires_at, outcome = NULL, completed_at = NULL, expires_at = NULL
             WHERE (k.state = 'claimed' AND k.lease_expires_at <= $6)
                OR (k.state = 'completed' AND k.expires_at <= $6)`,
          [
            request.tenant,
            request.key,
            request.fingerprint,
            request.callId,
            request.now + request.leaseMs,
            request.now,
          ],
        );
        if ((taken.rowCount ?? 0) > 0) return { status: 'claimed' };
        const current = await pool.query(
          `SELECT state, fingerprint, call_id, lease_expires_at, outcome, completed_at, expires_at
             FROM ${table} WHERE tenant = $1 AND key = $2`,
          [request.tenant, request.key],
        );
        const answer = claimAnswer(request, current.rows[0]);
        // Released, or expired under another clock, since the insert: claim again.
        if (answer !== undefined) return answer;
      }
    } catch (error) {
      throw storeError(error, 'idempotency claim', this.#names.schema);
    }
    throw new CustodyError(
      'CUSTODY_STORE_ERROR',
      `idempotency claim of key ${JSON.stringify(request.key)} kept racing other writers; try again`,
      { details: { tenant: request.tenant, key: request.key } },
    );
  }

  async complete(
    record: IdempotencyRecord & { readonly ttlMs: number },
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    throwIfAborted(options.signal, 'idempotency complete');
    checkEpoch(record.completedAt, 'completedAt');
    checkEpoch(record.ttlMs, 'ttlMs');
    const outcome = record.outcome === undefined ? null : canonicalize(record.outcome);
    const pool = await this.#pool();
    try {
      // Unconditional, as in memory: the outcome of a call that ran must never be lost, even if
      // its lease ran out and someone else claimed the key meanwhile.
      await pool.query(
        `INSERT INTO ${this.#names.idempotencyKeys} AS k
           (tenant, key, state, fingerprint, call_id, lease_expires_at, outcome, completed_at, expires_at)
         VALUES ($1, $2, 'completed', $3, $4, NULL, $5, $6, $7)
         ON CONFLICT (tenant, key) DO UPDATE
           SET state = 'completed', fingerprint = EXCLUDED.fingerprint, call_id = EXCLUDED.call_id,
               lease_expires_at = NULL, outcome = EXCLUDED.outcome, completed_at = EXCLUDED.completed_at,
               expires_at = EXCLUDED.expires_at`,
        [
          record.tenant,
          record.key,
          record.fingerprint,
          record.callId,
          outcome,
          record.completedAt,
          record.completedAt + record.ttlMs,
        ],
      );
    } catch (error) {
      throw storeError(error, 'idempotency complete', this.#names.schema);
    }
  }

  async release(
    request: { readonly tenant: string; readonly key: string; readonly callId: string },
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    throwIfAborted(options.signal, 'idempotency release');
    const pool = await this.#pool();
    try {
      await pool.query(
        `DELETE FROM ${this.#names.idempotencyKeys} WHERE tenant = $1 AND key = $2 AND state = 'claimed' AND call_id = $3`,
        [request.tenant, request.key, request.callId],
      );
    } catch (error) {
      throw storeError(error, 'idempotency release', this.#names.schema);
    }
  }

  async prune(options: { now: number; signal?: AbortSignal }): Promise<number> {
    throwIfAborted(options.signal, 'idempotency prune');
    checkEpoch(options.now, 'now');
    const pool = await this.#pool();
    try {
      const result = await pool.query(
        `DELETE FROM ${this.#names.idempotencyKeys}
          WHERE (state = 'completed' AND expires_at <= $1) OR (state = 'claimed' AND lease_expires_at <= $1)`,
        [options.now],
      );
      return result.rowCount ?? 0;
    } catch (error) {
      throw storeError(error, 'idempotency prune', this.#names.schema);
    }
  }
}

/**
 * The answer a claim that took nothing gets from the key's row: `undefined` when there is no row
 * or it has expired as of the request's `now` (released or expired since: claim again).
 */
export function claimAnswer(
  request: IdempotencyClaimRequest,
  row: Record<string, unknown> | undefined,
): IdempotencyClaim | undefined {
  if (!row) return undefined;
  if (row.state === 'completed') {
    if (toNumber(row.expires_at) <= request.now) return undefined;
    const record: IdempotencyRecord = {
      tenant: request.tenant,
      key: request.key,
      fingerprint: String(row.fingerprint),
      outcome: row.outcome === null ? undefined : JSON.parse(String(row.outcome)),
      callId: String(row.call_id),
      completedAt: toNumber(row.completed_at),
    };
    return record.fingerprint === request.fingerprint
      ? { status: 'completed', record }
      : { status: 'conflict', fingerprint: record.fingerprint };
  }
  const leaseExpiresAt = toNumber(row.lease_expires_at);
  if (leaseExpiresAt <= request.now) return undefined;
  return row.fingerprint === request.fingerprint
    ? { status: 'in_progress', leaseExpiresAt }
    : { status: 'conflict', fingerprint: String(row.fingerprint) };
}

/** Refuses a time or duration that is not a whole number of milliseconds. */
export function checkEpoch(value: unknown, name: string): void {
  if (!Number.isSafeInteger(value)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `idempotency ${name} must be an integer number of milliseconds, got ${describeValue(value)}`,
    );
  }
}
