import type { RuntimeStores } from '@custody/core';
import { type SqliteApprovalStore, SqliteApprovals } from './sqlite-approval-store.js';
import { SqliteConnection } from './sqlite-connection.js';
import { SqliteIdempotency, type SqliteIdempotencyStore } from './sqlite-idempotency-store.js';
import { SqliteLedger, type SqliteLedgerStore } from './sqlite-ledger-store.js';
import { resolveSqliteOptions, type SqliteStoreOptions } from './sqlite-options.js';
import { SqliteUnitOfWork, type SqliteUnitOfWorkStore } from './sqlite-unit-of-work.js';

/** The three durable stores over one SQLite file, ready to pass to `createRuntime`. */
export interface SqliteStores extends RuntimeStores {
  readonly ledger: SqliteLedgerStore;
  readonly approvals: SqliteApprovalStore;
  readonly idempotency: SqliteIdempotencyStore;
  /**
   * Commits ledger events and an idempotency change in one transaction (the runtime's two commits
   * per gated write, one per read), sharing the ledger's group commit with concurrent runs. Its
   * `ledger` and `idempotency` are the two stores above.
   */
  readonly unitOfWork: SqliteUnitOfWorkStore;
  /** The absolute path of the database file (or `':memory:'`). */
  readonly path: string;
  /** Commits pending appends and closes the database. Calling it again does nothing. */
  close(): Promise<void>;
}

/**
 * Opens (creating it and its folder if needed) one SQLite file and returns the ledger, approval
 * and idempotency stores over it. The file uses WAL with `synchronous=FULL`: an append resolves
 * only once it is on disk, and concurrent appends share one commit (group commit).
 * better-sqlite3 is loaded on this first call unless `driver` is given. Options are checked at
 * once; a bad one throws `CUSTODY_INVALID_ARGUMENT`.
 *
 * @example
 * ```ts
 * import { createSqliteStores } from '@custody/store-sqlite';
 *
 * const stores = createSqliteStores({ path: './.custody/ledger.db' });
 * const runtime = createRuntime({ stores });
 * // …
 * await stores.close();
 * ```
 */
export function createSqliteStores(options?: SqliteStoreOptions): SqliteStores {
  const connection = SqliteConnection.open(resolveSqliteOptions('createSqliteStores', options));
  const ledger = new SqliteLedger(connection);
  const approvals = new SqliteApprovals(connection);
  const idempotency = new SqliteIdempotency(connection);
  return {
    ledger,
    approvals,
    idempotency,
    unitOfWork: new SqliteUnitOfWork(ledger, idempotency),
    path: connection.path,
    close: async () => {
      await ledger.close();
      await approvals.close();
      await idempotency.close();
    },
  };
}

/**
 * Opens a SQLite ledger on its own connection: for an app that keeps approvals and idempotency
 * elsewhere. Same file format and options as {@link createSqliteStores}.
 *
 * @example
 * ```ts
 * const ledger = createSqliteLedgerStore({ path: './.custody/ledger.db' });
 * const page = await ledger.read({ runId });
 * await ledger.close();
 * ```
 */
export function createSqliteLedgerStore(options?: SqliteStoreOptions): SqliteLedgerStore {
  return new SqliteLedger(SqliteConnection.open(resolveSqliteOptions('createSqliteLedgerStore', options)));
}

/** Opens a SQLite approval store on its own connection. Same options as {@link createSqliteStores}. */
export function createSqliteApprovalStore(options?: SqliteStoreOptions): SqliteApprovalStore {
  return new SqliteApprovals(
    SqliteConnection.open(resolveSqliteOptions('createSqliteApprovalStore', options)),
  );
}

/** Opens a SQLite idempotency store on its own connection. Same options as {@link createSqliteStores}. */
export function createSqliteIdempotencyStore(options?: SqliteStoreOptions): SqliteIdempotencyStore {
  return new SqliteIdempotency(
    SqliteConnection.open(resolveSqliteOptions('createSqliteIdempotencyStore', options)),
  );
}
