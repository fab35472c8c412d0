import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodyError } from '@custody/core';
import { loadBetterSqlite3, type SqliteDatabase, type SqliteStatement } from './sqlite-driver.js';
import type { ResolvedSqliteOptions } from './sqlite-options.js';
import { migrate } from './sqlite-schema.js';

/**
 * One open database shared by the stores built together. Statements are prepared once and
 * reused; the database closes when the last store using it closes.
 */
export class SqliteConnection {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, SqliteStatement>();
  #users = 0;

  private constructor(db: SqliteDatabase, path: string) {
    this.#db = db;
    this.path = path;
  }

  /** Opens (creating the file and its folder) and migrates the database at `options.path`. */
  static open(options: ResolvedSqliteOptions): SqliteConnection {
    const memory = options.path === ':memory:';
    const path = memory ? options.path : resolve(options.path);
    const Driver = options.driver ?? loadBetterSqlite3();
    let db: SqliteDatabase | undefined;
    try {
      if (!memory) mkdirSync(dirname(path), { recursive: true });
      db = new Driver(path, { timeout: options.busyTimeoutMs });
      // WAL lets readers run beside the writer; FULL syncs the WAL on every commit, so an
      // acknowledged append survives power loss, not only a crash of the process.
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      db.pragma(`busy_timeout = ${options.busyTimeoutMs}`);
      migrate(db, path);
      return new SqliteConnection(db, path);
    } catch (error) {
      if (db?.open) db.close();
      if (CustodyError.isInstance(error)) throw error;
      throw new CustodyError(
        'CUSTODY_STORE_ERROR',
        `cannot open the SQLite database ${path}: ${error instanceof Error ? error.message : String(error)}; ` +
          'check that the folder is writable and the file is a SQLite database (or pass another path)',
        { cause: error, details: { path } },
      );
    }
  }

  get db(): SqliteDatabase {
    return this.#db;
  }

  /** A prepared statement for `sql`, prepared on first use. */
  statement(sql: string): SqliteStatement {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  /** Registers one more store using this connection. */
  retain(): this {
    this.#users++;
    return this;
  }

  /** A store is done with the connection; the last one closes the database. */
  release(): void {
    if (this.#users === 0) return;
    this.#users--;
    if (this.#users === 0 && this.#db.open) {
      this.#statements.clear();
      this.#db.close();
    }
  }
}

/** The error a store throws when used after `close()`. */
export function storeClosed(store: string): CustodyError {
  return new CustodyError(
    'CUSTODY_STORE_ERROR',
    `the SQLite ${store} store is closed; open a new one with createSqliteStores()`,
    { details: { store } },
  );
}

/** Wraps an unexpected SQLite failure with what was being done. */
export function storeFailure(what: string, error: unknown): CustodyError {
  if (CustodyError.isInstance(error)) return error;
  return new CustodyError(
    'CUSTODY_STORE_ERROR',
    `SQLite failed to ${what}: ${error instanceof Error ? error.message : String(error)}`,
    { cause: error },
  );
}

/** True for SQLite's UNIQUE / PRIMARY KEY constraint errors. */
export function isUniqueViolation(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}
