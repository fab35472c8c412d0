import {
  CustodyError,
  describeValue,
  type IdempotencyClaim,
  type IdempotencyClaimRequest,
  type IdempotencyCompletion,
  type IdempotencyRecord,
  type IdempotencyRelease,
  type IdempotencyStore,
  type UnitOfWork,
} from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { type SqliteConnection, storeClosed, storeFailure } from './sqlite-connection.js';
import type { SqliteStatement } from './sqlite-driver.js';

/** The SQLite idempotency store: the {@link IdempotencyStore} port, and `close`. */
export interface SqliteIdempotencyStore extends IdempotencyStore {
  close(): Promise<void>;
}

interface KeyRow {
  state: 'claimed' | 'completed';
  fingerprint: string;
  call_id: string;
  lease_expires_at: number | null;
  outcome: string | null;
  completed_at: number | null;
  expires_at: number | null;
}

/**
 * Idempotency keys in one table, one row per (tenant, key). A claim reads and writes the row in
 * an immediate transaction, so two processes sharing the file can never both claim a key.
 * Expired rows are overwritten by the next claim of their key.
 */
export class SqliteIdempotency implements SqliteIdempotencyStore {
  readonly specificationVersion = 'v1' as const;
  #connection: SqliteConnection | undefined;
  readonly #begin: SqliteStatement;
  readonly #commit: SqliteStatement;
  readonly #rollback: SqliteStatement;
  readonly #select: SqliteStatement;
  readonly #claim: SqliteStatement;
  readonly #complete: SqliteStatement;
  readonly #release: SqliteStatement;

  constructor(connection: SqliteConnection) {
    this.#connection = connection.retain();
    const sql = (text: string) => connection.statement(text);
    this.#begin = sql('BEGIN IMMEDIATE');
    this.#commit = sql('COMMIT');
    this.#rollback = sql('ROLLBACK');
    this.#select = sql(
      'SELECT state, fingerprint, call_id, lease_expires_at, outcome, completed_at, expires_at ' +
        'FROM custody_idempotency WHERE tenant = ? AND key = ?',
    );
    this.#claim = sql(
      `INSERT INTO custody_idempotency (tenant, key, state, fingerprint, call_id, lease_expires_at)
       VALUES (?, ?, 'claimed', ?, ?, ?)
       ON CONFLICT (tenant, key) DO UPDATE SET state = 'claimed', fingerprint = excluded.fingerprint,
         call_id = excluded.call_id, lease_expires_at = excluded.lease_expires_at,
         outcome = NULL, completed_at = NULL, expires_at = NULL`,
    );
    this.#complete = sql(
      `INSERT INTO custody_idempotency (tenant, key, state, fingerprint, call_id, outcome, completed_at, expires_at)
       VALUES (?, ?, 'completed', ?, ?, ?, ?, ?)
       ON CONFLICT (tenant, key) DO UPDATE SET state = 'completed', fingerprint = excluded.fingerprint,
         call_id = excluded.call_id, lease_expires_at = NULL, outcome = excluded.outcome,
         completed_at = excluded.completed_at, expires_at = excluded.expires_at`,
    );
    this.#release = sql(
      "DELETE FROM custody_idempotency WHERE tenant = ? AND key = ? AND state = 'claimed' AND call_id = ?",
    );
  }

  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim> {
    this.#open();
    checkClaim(request);
    try {
      this.#begin.run();
      try {
        const answer = this.#claimRow(request);
        this.#commit.run();
        return answer;
      } catch (error) {
        if (this.#connection?.db.inTransaction) this.#rollback.run();
        throw error;
      }
    } catch (error) {
      throw storeFailure(`claim idempotency key ${JSON.stringify(request.key)}`, error);
    }
  }

  async complete(record: IdempotencyCompletion): Promise<void> {
    this.#open();
    checkCompletion(record);
    const outcome = canonicalize(record.outcome);
    try {
      this.#writeCompletion(record, outcome);
    } catch (error) {
      throw storeFailure(`complete idempotency key ${JSON.stringify(record.key)}`, error);
    }
  }

  async release(request: IdempotencyRelease): Promise<void> {
    this.#open();
    checkRelease(request);
    try {
      this.#release.run(request.tenant, request.key, request.callId);
    } catch (error) {
      throw storeFailure(`release idempotency key ${JSON.stringify(request.key)}`, error);
    }
  }

  /**
   * Checks and encodes a unit of work's idempotency change now, so a bad one fails before it is
   * queued; the function returned applies it inside a transaction the caller holds, answering
   * the claim when there is one.
   */
  prepareChange(
    change: Pick<UnitOfWork, 'claim' | 'complete' | 'release'>,
  ): () => IdempotencyClaim | undefined {
    this.#open();
    const { claim, complete, release } = change;
    if (claim) checkClaim(claim);
    if (complete) checkCompletion(complete);
    if (release) checkRelease(release);
    const outcome = complete && canonicalize(complete.outcome);
    return () => {
      if (complete) this.#writeCompletion(complete, outcome!);
      if (release) this.#release.run(release.tenant, release.key, release.callId);
      return claim && this.#claimRow(claim);
    };
  }

  /** The claim's read and write, inside an immediate transaction the caller holds. */
  #claimRow(request: IdempotencyClaimRequest): IdempotencyClaim {
    const { tenant, key, fingerprint, now } = request;
    const row = this.#select.get(tenant, key) as KeyRow | undefined;
    if (row?.state === 'completed' && row.expires_at! > now) {
      return row.fingerprint === fingerprint
        ? { status: 'completed', record: toRecord(tenant, key, row) }
        : { status: 'conflict', fingerprint: row.fingerprint };
    }
    if (row?.state === 'claimed' && row.lease_expires_at! > now) {
      return row.fingerprint === fingerprint
        ? { status: 'in_progress', leaseExpiresAt: row.lease_expires_at! }
        : { status: 'conflict', fingerprint: row.fingerprint };
    }
    this.#claim.run(tenant, key, fingerprint, request.callId, now + request.leaseMs);
    return { status: 'claimed' };
  }

  #writeCompletion(record: IdempotencyCompletion, outcome: string): void {
    this.#complete.run(
      record.tenant,
      record.key,
      record.fingerprint,
      record.callId,
      outcome,
      record.completedAt,
      record.completedAt + record.ttlMs,
    );
  }

  async close(): Promise<void> {
    this.#connection?.release();
    this.#connection = undefined;
  }

  #open(): SqliteConnection {
    if (!this.#connection) throw storeClosed('idempotency');
    return this.#connection;
  }
}

function toRecord(tenant: string, key: string, row: KeyRow): IdempotencyRecord {
  return {
    tenant,
    key,
    fingerprint: row.fingerprint,
    outcome: JSON.parse(row.outcome!),
    callId: row.call_id,
    completedAt: row.completed_at!,
  };
}

/** Refuses a claim request the store cannot store, before anything is written. */
export function checkClaim(request: IdempotencyClaimRequest): void {
  checkKey('claim', request);
  checkString('claim', 'fingerprint', request.fingerprint);
  checkString('claim', 'callId', request.callId);
  checkInteger('claim', 'leaseMs', request.leaseMs);
  checkInteger('claim', 'now', request.now);
}

/** Refuses a completion the store cannot store, before anything is written. */
export function checkCompletion(record: IdempotencyCompletion): void {
  checkKey('complete', record);
  checkString('complete', 'fingerprint', record.fingerprint);
  checkString('complete', 'callId', record.callId);
  checkInteger('complete', 'completedAt', record.completedAt);
  checkInteger('complete', 'ttlMs', record.ttlMs);
}

/** Refuses a release the store cannot apply, before anything is written. */
export function checkRelease(request: IdempotencyRelease): void {
  checkKey('release', request);
  checkString('release', 'callId', request.callId);
}

function checkKey(method: string, value: { tenant: unknown; key: unknown }): void {
  checkString(method, 'tenant', value.tenant);
  checkString(method, 'key', value.key);
  if (value.key === '') throw invalidField(method, 'key', value.key, 'a non-empty string');
}

function checkString(method: string, field: string, value: unknown): void {
  if (typeof value !== 'string') throw invalidField(method, field, value, 'a string');
}

function checkInteger(method: string, field: string, value: unknown): void {
  if (!Number.isSafeInteger(value) || (value as number) < 0) {
    throw invalidField(method, field, value, 'a whole number of milliseconds >= 0');
  }
}

function invalidField(method: string, field: string, value: unknown, expected: string): CustodyError {
  return new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `idempotency ${method}: ${field} must be ${expected}, got ${describeValue(value)}`,
    { details: { field } },
  );
}
