import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodyError } from '@custody/core';
import { loadBetterSqlite3, type SqliteDatabase, type SqliteStatement } from './sqlite-driver.js';
import type { ResolvedSqliteOptions } from './sqlite-options.js';
import { migrate } from './sqlite-schema.js';

/** What a TRUNCATE checkpoint of the WAL did: `busy` when a reader or writer kept it from finishing. */
export interface WalCheckpoint {
  readonly busy: boolean;
  /** Frames in the WAL before, and frames copied into the database file. */
  readonly log: number;
  readonly checkpointed: number;
}

/**
 * One open database shared by the stores built together. Statements are prepared once and
 * reused; the database closes when the last store using it closes.
 *
 * It registers the two SQL functions the ledger's append-only triggers call
 * (`custody_may_delete_stream`, `custody_may_erase_event`): they answer yes only for the streams
 * and event ids this connection's own ledger is deleting or erasing at that moment, inside its
 * transaction (see {@link SqliteConnection.deleting}). Any other connection to the file has no
 * such function, so its DELETE or erasing UPDATE fails.
 */
export class SqliteConnection {
  readonly path: string;
  readonly #db: SqliteDatabase;
  readonly #statements = new Map<string, SqliteStatement>();
  readonly #deletable = new Set<string>();
  readonly #erasable = new Set<string>();
  #users = 0;

  private constructor(db: SqliteDatabase, path: string) {
    this.#db = db;
    this.path = path;
    const deletable = this.#deletable;
    const erasable = this.#erasable;
    db.function('custody_may_delete_stream', { deterministic: false }, (stream) =>
      typeof stream === 'string' && deletable.has(stream) ? 1 : 0,
    );
    db.function('custody_may_erase_event', { deterministic: false }, (id) =>
      typeof id === 'string' && erasable.has(id) ? 1 : 0,
    );
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
      // Freed space (an erased payload, a pruned run) is overwritten with zeros, not left readable
      // in free pages of the file.
      db.pragma('secure_delete = ON');
      const connection = new SqliteConnection(db, path);
      migrate(db, path);
      return connection;
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

  /**
   * Runs `work` (synchronous: nothing else runs on this connection meanwhile) with the triggers
   * letting DELETE through for `streams` only; call it inside the transaction that checked them.
   */
  deleting<T>(streams: Iterable<string>, work: () => T): T {
    return this.#allowing(this.#deletable, streams, work);
  }

  /** Runs `work` with the triggers letting the erasing UPDATE of event `eventId` through, and no other. */
  erasing<T>(eventId: string, work: () => T): T {
    return this.#allowing(this.#erasable, [eventId], work);
  }

  #allowing<T>(allowed: Set<string>, names: Iterable<string>, work: () => T): T {
    for (const name of names) allowed.add(name);
    try {
      return work();
    } finally {
      allowed.clear();
    }
  }

  /**
   * Copies the WAL into the database file and truncates it to zero bytes, so the text an erasure
   * or a deletion removed is left in neither. Waits up to the busy timeout for readers of an older
   * snapshot; `busy` when one kept it from finishing (the WAL then still holds old pages).
   */
  checkpointWal(): WalCheckpoint {
    const [row] = this.#db.pragma('wal_checkpoint(TRUNCATE)') as {
      busy: number;
      log: number;
      checkpointed: number;
    }[];
    return { busy: row?.busy === 1, log: row?.log ?? 0, checkpointed: row?.checkpointed ?? 0 };
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
