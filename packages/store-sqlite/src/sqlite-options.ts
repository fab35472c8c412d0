import { CustodyError, describeValue } from '@custody/core';
import type { SqliteDriver } from './sqlite-driver.js';

/** Where the stores keep their file when no `path` is given, relative to the working directory. */
export const DEFAULT_SQLITE_PATH = './.custody/ledger.db';

const DEFAULT_BUSY_TIMEOUT_MS = 5_000;

/** Options shared by every SQLite store factory. */
export interface SqliteStoreOptions {
  /**
   * The database file. Default `./.custody/ledger.db`; missing folders are created. `':memory:'`
   * gives a private database that disappears on close (tests only: nothing is durable).
   */
  path?: string;
  /**
   * better-sqlite3's `Database` constructor, or one with the same API. By default better-sqlite3
   * is loaded on first use; inject it to pick a build or to use a test double.
   */
  driver?: SqliteDriver;
  /**
   * How long a write waits for another connection (another process) to release the database
   * lock before failing, in milliseconds. Default 5000.
   */
  busyTimeoutMs?: number;
}

/** {@link SqliteStoreOptions} checked and with defaults applied. */
export interface ResolvedSqliteOptions {
  readonly path: string;
  readonly driver: SqliteDriver | undefined;
  readonly busyTimeoutMs: number;
}

const KNOWN = ['path', 'driver', 'busyTimeoutMs'];

/** Checks options at once, so a typo fails at construction with a message that says how to fix it. */
export function resolveSqliteOptions(
  factory: string,
  options: SqliteStoreOptions | undefined,
): ResolvedSqliteOptions {
  const fail = (message: string, details: Record<string, unknown>): never => {
    throw new CustodyError('CUSTODY_INVALID_ARGUMENT', `${factory}: ${message}`, { details });
  };
  if (options === undefined) options = {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    fail(`options must be an object, got ${describeValue(options)}`, {});
  }
  for (const key of Object.keys(options)) {
    if (!KNOWN.includes(key)) {
      fail(`unknown option "${key}"; the options are ${KNOWN.join(', ')}`, { option: key });
    }
  }
  const { path = DEFAULT_SQLITE_PATH, driver, busyTimeoutMs = DEFAULT_BUSY_TIMEOUT_MS } = options;
  if (typeof path !== 'string' || path.trim() === '' || path.includes('\u0000')) {
    fail(
      `option "path" must be a file path (or ":memory:"), got ${describeValue(path)}; omit it for ${DEFAULT_SQLITE_PATH}`,
      { option: 'path' },
    );
  }
  if (driver !== undefined && typeof driver !== 'function') {
    fail(`option "driver" must be better-sqlite3's Database constructor, got ${describeValue(driver)}`, {
      option: 'driver',
    });
  }
  if (!Number.isSafeInteger(busyTimeoutMs) || busyTimeoutMs < 0) {
    fail(
      `option "busyTimeoutMs" must be a whole number of milliseconds >= 0, got ${describeValue(busyTimeoutMs)}`,
      {
        option: 'busyTimeoutMs',
      },
    );
  }
  return { path, driver, busyTimeoutMs };
}
