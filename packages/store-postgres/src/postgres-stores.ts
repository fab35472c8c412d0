import { CustodyError, describeValue, type RuntimeStores } from '@custody/core';
import type { PostgresPool } from './database.js';
import { migrate, type PostgresMigrateOptions } from './migrations.js';
import { PostgresApprovals } from './postgres-approval-store.js';
import { PostgresIdempotency, type PostgresIdempotencyStore } from './postgres-idempotency-store.js';
import { PostgresLedger, type PostgresLedgerStore } from './postgres-ledger-store.js';
import { PostgresUnitOfWork, type PostgresUnitOfWorkStore } from './postgres-unit-of-work.js';
import { checkIdentifier, DEFAULT_SCHEMA, schemaNames } from './schema.js';

/** The part of the `pg` module the adapter uses; inject it with {@link PostgresStoresOptions.pg}. */
export interface PgModule {
  readonly Pool: new (
    config: Record<string, unknown>,
  ) => PostgresPool & {
    end(): Promise<void>;
    on?(event: 'error', listener: (error: Error) => void): unknown;
  };
}

/** A pool the adapter created itself from a connection string, and so must end. */
type OwnedPool = InstanceType<PgModule['Pool']>;

/**
 * Options for {@link createPostgresStores}. Give exactly one of `client` and `connectionString`.
 */
export interface PostgresStoresOptions {
  /**
   * Your pool (a `pg.Pool`, or anything shaped like {@link PostgresPool}). You keep it:
   * `close()` leaves it open. Transactions check out a connection with `connect()`.
   */
  readonly client?: PostgresPool;
  /**
   * A PostgreSQL connection string (`postgres://user@host:5432/db`). The adapter loads `pg` on
   * first use (an optional peer dependency), creates a pool, and ends it on `close()`.
   */
  readonly connectionString?: string;
  /** More `pg.Pool` settings for a pool made from `connectionString` (`max`, `ssl`, …). */
  readonly poolOptions?: Readonly<Record<string, unknown>>;
  /** The `pg` module to use instead of importing it. */
  readonly pg?: PgModule;
  /** Schema holding the tables; created by `migrate()`. A plain identifier. Default `custody`. */
  readonly schema?: string;
  /**
   * Most events written in one ledger transaction when concurrent appends are merged (one
   * `append` call is never split). Default 400: up to four such transactions over disjoint
   * streams commit in parallel, which on two cores beats fewer, larger ones.
   */
  readonly maxBatchEvents?: number;
}

/** The three stores on one database, plus schema migration and shutdown. */
export interface PostgresStores extends RuntimeStores {
  readonly ledger: PostgresLedgerStore;
  readonly approvals: RuntimeStores['approvals'];
  readonly idempotency: PostgresIdempotencyStore;
  /**
   * Commits ledger events and an idempotency change in one transaction (the runtime's two commits
   * per gated write), sharing the ledger's group commit with concurrent runs. Its `ledger` and
   * `idempotency` are the two stores above.
   */
  readonly unitOfWork: PostgresUnitOfWorkStore;
  /** The schema the stores use. */
  readonly schema: string;
  /**
   * Creates or upgrades the tables. Idempotent and safe to call from many instances at once
   * (an advisory lock serialises them). Call it once at start-up, before the stores are used.
   */
  migrate(options?: PostgresMigrateOptions): Promise<void>;
  /**
   * Waits for queued ledger appends and units of work to commit, then ends the pool if the adapter created it
   * (a `client` you passed stays open). Further calls fail.
   */
  close(): Promise<void>;
}

const OPTION_KEYS = new Set(['client', 'connectionString', 'poolOptions', 'pg', 'schema', 'maxBatchEvents']);

/**
 * Custody's stores on PostgreSQL, for many app instances sharing one ledger: a hash-chained
 * ledger with one chain per stream (no global head to contend on), concurrent appends merged
 * into one transaction, and approvals and idempotency keys beside it. Options are checked at
 * once; nothing connects until the first query.
 *
 * @example
 * ```ts
 * import { createRuntime } from '@custody/core';
 * import { createPostgresStores } from '@custody/store-postgres';
 *
 * const stores = createPostgresStores({ connectionString: process.env.DATABASE_URL! });
 * await stores.migrate();
 * const runtime = createRuntime({ stores, tools, policy });
 * // on shutdown
 * await stores.close();
 * ```
 *
 * @example Bring your own pool
 * ```ts
 * import pg from 'pg';
 * const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 20 });
 * const stores = createPostgresStores({ client: pool, schema: 'audit' });
 * ```
 */
export function createPostgresStores(options: PostgresStoresOptions): PostgresStores {
  const settings = checkOptions(options);
  const names = schemaNames(settings.schema);
  let closed = false;
  let owned: Promise<OwnedPool> | undefined;

  const pool = (): Promise<PostgresPool> => {
    if (closed) {
      return Promise.reject(
        new CustodyError('CUSTODY_STORE_ERROR', 'the PostgreSQL stores are closed: create new ones'),
      );
    }
    if (options.client) return Promise.resolve(options.client);
    owned ??= openPool(options);
    return owned;
  };

  const ledger = new PostgresLedger(pool, names, { maxBatchEvents: settings.maxBatchEvents });
  const idempotency = new PostgresIdempotency(pool, names);
  return {
    ledger,
    approvals: new PostgresApprovals(pool, names),
    idempotency,
    unitOfWork: new PostgresUnitOfWork(ledger, idempotency),
    schema: settings.schema,
    migrate: async (migrateOptions) => migrate(await pool(), settings.schema, migrateOptions),
    close: async () => {
      if (closed) return;
      await ledger.close();
      closed = true;
      if (owned) await (await owned.catch(() => undefined))?.end();
    },
  };
}

function checkOptions(options: PostgresStoresOptions): { schema: string; maxBatchEvents: number } {
  const invalid = (message: string, option?: string) =>
    new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `createPostgresStores: ${message}`,
      option ? { details: { option } } : {},
    );
  if (typeof options !== 'object' || options === null) {
    throw invalid(
      `takes an options object ({ client } or { connectionString }), got ${describeValue(options)}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!OPTION_KEYS.has(key))
      throw invalid(`unknown option "${key}"; known options: ${[...OPTION_KEYS].join(', ')}`, key);
  }
  const { client, connectionString } = options;
  if (client !== undefined && connectionString !== undefined) {
    throw invalid('give either client or connectionString, not both');
  }
  if (client === undefined && connectionString === undefined) {
    throw invalid(
      'give a pg.Pool as client, or a connectionString such as "postgres://user@localhost:5432/app"',
    );
  }
  if (client !== undefined) {
    const shape = client as { query?: unknown; connect?: unknown } | null;
    if (
      typeof shape !== 'object' ||
      shape === null ||
      typeof shape.query !== 'function' ||
      typeof shape.connect !== 'function'
    ) {
      throw invalid(
        `client must be a pg.Pool or an object with query(text, params) and connect(), got ${describeValue(client)}`,
        'client',
      );
    }
  }
  if (
    connectionString !== undefined &&
    (typeof connectionString !== 'string' || connectionString.trim() === '')
  ) {
    throw invalid(
      `connectionString must be a non-empty string, got ${describeValue(connectionString)}`,
      'connectionString',
    );
  }
  if (options.poolOptions !== undefined) {
    if (client !== undefined)
      throw invalid(
        'poolOptions only apply with connectionString; configure your own pool instead',
        'poolOptions',
      );
    if (typeof options.poolOptions !== 'object' || options.poolOptions === null) {
      throw invalid(
        `poolOptions must be an object of pg.Pool settings, got ${describeValue(options.poolOptions)}`,
        'poolOptions',
      );
    }
  }
  if (options.pg !== undefined && typeof options.pg?.Pool !== 'function') {
    throw invalid(`pg must be the pg module (with a Pool class), got ${describeValue(options.pg)}`, 'pg');
  }
  const schema = checkIdentifier(options.schema ?? DEFAULT_SCHEMA, 'createPostgresStores: schema');
  const maxBatchEvents = options.maxBatchEvents ?? 400;
  if (!Number.isSafeInteger(maxBatchEvents) || maxBatchEvents < 1) {
    throw invalid(
      `maxBatchEvents must be a positive integer, got ${describeValue(maxBatchEvents)}`,
      'maxBatchEvents',
    );
  }
  return { schema, maxBatchEvents };
}

async function openPool(options: PostgresStoresOptions): Promise<OwnedPool> {
  let pg = options.pg;
  if (!pg) {
    try {
      const loaded = (await import('pg')) as unknown as PgModule & { default?: PgModule };
      pg = loaded.default?.Pool ? loaded.default : loaded;
    } catch (error) {
      throw new CustodyError(
        'CUSTODY_STORE_ERROR',
        'connectionString needs the "pg" package, which is not installed: run `npm install pg` (or pass your own pool as client)',
        { cause: error },
      );
    }
  }
  const pool = new pg.Pool({ ...options.poolOptions, connectionString: options.connectionString });
  // An idle connection that dies emits 'error' on the pool, which would crash the process when
  // nobody listens; the next query through that pool reports the problem instead.
  pool.on?.('error', () => {});
  return pool;
}
