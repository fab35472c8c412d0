import { CustodyError, type CustodyErrorCode } from '@custody/core';

/** What a query answers. `pg`'s `QueryResult` fits. */
export interface PostgresQueryResult {
  readonly rows: readonly Record<string, unknown>[];
  readonly rowCount: number | null;
}

/**
 * One checked-out connection: runs queries and goes back to its pool. `pg`'s `PoolClient` fits.
 * `release(error)` with an error (or `true`) tells the pool to discard the connection.
 */
export interface PostgresConnection {
  query(text: string, params?: unknown[]): Promise<PostgresQueryResult>;
  release(error?: Error | boolean): void;
}

/**
 * The narrow database interface the adapter talks to: one-off queries, plus `connect()` for a
 * dedicated connection when a transaction is needed. A `pg.Pool` fits as is; so does any wrapper
 * with the same shape (a pool with metrics, a proxy that logs).
 *
 * Parameters are plain JS values as `pg` sends them: strings, numbers, `null`, arrays of strings
 * and `Buffer` (for `bytea`). Results must decode `int8` as a string or number and `bytea` as a
 * `Buffer`/`Uint8Array` (or its `\x…` hex text).
 *
 * @example
 * ```ts
 * import pg from 'pg';
 * const pool: PostgresPool = new pg.Pool({ connectionString: process.env.DATABASE_URL });
 * ```
 */
export interface PostgresPool {
  query(text: string, params?: unknown[]): Promise<PostgresQueryResult>;
  connect(): Promise<PostgresConnection>;
}

/** Runs queries; a pool or a connection inside a transaction. */
export type Queryable = Pick<PostgresConnection, 'query'>;

/**
 * Runs `work` in one transaction on a dedicated connection. Commits when it resolves, rolls back
 * when it throws; a connection that could not even roll back is discarded, never reused. `begin`
 * is the statement that starts it (to set an isolation level).
 */
export async function withTransaction<T>(
  pool: PostgresPool,
  work: (connection: Queryable) => Promise<T>,
  begin = 'BEGIN',
): Promise<T> {
  const connection = await pool.connect();
  let broken = false;
  try {
    await connection.query(begin);
    const result = await work(connection);
    await connection.query('COMMIT');
    return result;
  } catch (error) {
    try {
      await connection.query('ROLLBACK');
    } catch {
      broken = true;
    }
    throw error;
  } finally {
    connection.release(broken ? true : undefined);
  }
}

/** The SQLSTATE of a driver error, if it carries one. */
export function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? code : undefined;
}

/**
 * Wraps a driver error in a {@link CustodyError} whose message says what failed and, for the
 * errors users hit first (tables missing, connection refused), how to fix it.
 */
export function storeError(
  error: unknown,
  what: string,
  schema: string,
  code: CustodyErrorCode = 'CUSTODY_STORE_ERROR',
): CustodyError {
  if (CustodyError.isInstance(error)) return error;
  const state = sqlState(error);
  const reason = error instanceof Error ? error.message : String(error);
  let hint = '';
  if (state === '42P01' || state === '3F000') {
    hint = `; the Custody tables are missing from schema "${schema}": call \`await stores.migrate()\` once first`;
  } else if (state === '42501') {
    hint = '; the database role lacks a privilege (see the README, "Roles and privileges")';
  } else if (state === undefined && /ECONNREFUSED|ENOTFOUND|ETIMEDOUT|Connection terminated/.test(reason)) {
    hint = '; check that PostgreSQL is running and the connection string is right';
  }
  return new CustodyError(code, `PostgreSQL ${what} failed: ${reason}${hint}`, {
    cause: error,
    details: state ? { sqlState: state, schema } : { schema },
  });
}

/** Throws `CUSTODY_ABORTED` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) {
    throw new CustodyError('CUSTODY_ABORTED', `${what} was aborted before it reached PostgreSQL`, {
      cause: signal.reason,
    });
  }
}

/** `int8` columns arrive as strings from `pg`; the values here are all safe integers. */
export function toNumber(value: unknown): number {
  return typeof value === 'number' ? value : Number(value);
}

/** A `bytea` value as a Buffer, whatever form the driver returned it in. */
export function toBuffer(value: unknown): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (value instanceof Uint8Array) return Buffer.from(value.buffer, value.byteOffset, value.byteLength);
  if (typeof value === 'string' && value.startsWith('\\x')) return Buffer.from(value.slice(2), 'hex');
  throw new CustodyError(
    'CUSTODY_STORE_ERROR',
    `PostgreSQL returned a bytea value the adapter cannot read, got ${typeof value}`,
  );
}
