import { createRequire } from 'node:module';
import { CustodyError } from '@custody/core';

/** The result of running a write statement. */
export interface SqliteRunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** A prepared statement: the part of better-sqlite3's `Statement` the stores use. */
export interface SqliteStatement {
  run(...params: unknown[]): SqliteRunResult;
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** An open database: the part of better-sqlite3's `Database` the stores use. */
export interface SqliteDatabase {
  readonly open: boolean;
  readonly inTransaction: boolean;
  prepare(source: string): SqliteStatement;
  exec(source: string): unknown;
  pragma(source: string, options?: { simple?: boolean }): unknown;
  /**
   * Registers a SQL function on this connection only. The ledger's append-only triggers call the
   * ones the store registers, so a connection without them (the sqlite3 shell) cannot delete or
   * erase events.
   */
  function(
    name: string,
    options: { deterministic?: boolean },
    implementation: (arg: unknown) => unknown,
  ): unknown;
  close(): unknown;
}

/**
 * A synchronous SQLite driver with better-sqlite3's API: its default export fits. Inject it
 * through the `driver` option to use a specific build, a fork, or a test double.
 */
export type SqliteDriver = new (filename: string, options?: { timeout?: number }) => SqliteDatabase;

let loaded: SqliteDriver | undefined;

/**
 * Loads better-sqlite3 on first use, so importing this package costs nothing and a missing
 * native build fails with advice instead of at import time.
 */
export function loadBetterSqlite3(): SqliteDriver {
  if (loaded) return loaded;
  try {
    const require = createRequire(import.meta.url);
    const module = require('better-sqlite3') as SqliteDriver | { default: SqliteDriver };
    loaded = typeof module === 'function' ? module : module.default;
    return loaded;
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_STORE_ERROR',
      `better-sqlite3 could not be loaded (${error instanceof Error ? error.message : String(error)}); ` +
        'install it with `npm install better-sqlite3` (it needs a native build for this platform), ' +
        'or pass a compatible constructor as the `driver` option',
      { cause: error },
    );
  }
}
