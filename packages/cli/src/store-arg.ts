import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError } from './usage-error.js';

/** Where a command reads the ledger from, as given on the command line. */
export type StoreTarget =
  | { readonly kind: 'sqlite'; readonly path: string; readonly label: string }
  | {
      readonly kind: 'postgres';
      readonly url: string;
      readonly schema: string | undefined;
      readonly label: string;
    }
  | { readonly kind: 'jsonl'; readonly path: string; readonly label: string };

/** Options of {@link parseStoreArg}. */
export interface StoreArgOptions {
  /** `--schema`: the PostgreSQL schema holding the tables. */
  readonly schema?: string | undefined;
  /** The command changes the ledger (export records itself, checkpoint stores one), so an export file won't do. */
  readonly writes?: boolean;
}

/** Help line describing the store argument. */
export const STORE_HELP = `<store> is a SQLite file (./.custody/ledger.db) or a PostgreSQL URL (postgres://user@host:5432/db)`;

const SQLITE_MAGIC = 'SQLite format 3\u0000';

/**
 * Reads the store argument: a `postgres://` or `postgresql://` URL, a `.jsonl` export file, or
 * else the path of an existing SQLite file. Checks what it can without opening anything, so a
 * typo never creates an empty database.
 *
 * @example
 * ```ts
 * parseStoreArg('postgres://audit@db:5432/app', { schema: 'custody' }); // { kind: 'postgres', … }
 * parseStoreArg('./.custody/ledger.db');                                 // { kind: 'sqlite', … }
 * ```
 */
export function parseStoreArg(arg: string | undefined, options: StoreArgOptions = {}): StoreTarget {
  if (arg === undefined || arg.trim() === '') {
    throw new UsageError(
      'missing <store>: give a SQLite file, a PostgreSQL URL (postgres://…) or a .jsonl export',
    );
  }
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(arg)?.[1]?.toLowerCase();
  if (scheme === 'postgres' || scheme === 'postgresql') {
    let url: URL;
    try {
      url = new URL(arg);
    } catch {
      throw new UsageError(
        `${redactUrl(arg)} is not a valid URL; expected postgres://user@host:5432/database`,
      );
    }
    return { kind: 'postgres', url: arg, schema: options.schema, label: redactUrl(url.href) };
  }
  if (scheme !== undefined) {
    throw new UsageError(
      `unsupported store URL scheme "${scheme}://": give a postgres:// URL, a SQLite file or a .jsonl export`,
    );
  }
  if (options.schema !== undefined) {
    throw new UsageError('--schema only applies to a PostgreSQL URL');
  }
  const path = resolve(arg);
  if (arg.toLowerCase().endsWith('.jsonl')) {
    if (options.writes) {
      throw new UsageError(
        `${arg} is a JSONL export, which is read-only: this command needs the store itself (a SQLite file or a PostgreSQL URL)`,
      );
    }
    checkFile(arg, path, 'export file');
    return { kind: 'jsonl', path, label: arg };
  }
  checkFile(arg, path, 'SQLite file');
  checkSqliteLedger(arg, path);
  return { kind: 'sqlite', path, label: arg };
}

function checkFile(arg: string, path: string, what: string): void {
  if (!existsSync(path)) {
    throw new UsageError(
      `${what} ${arg} does not exist (looked at ${path}); check the path, or give a postgres:// URL`,
    );
  }
  if (!statSync(path).isFile()) throw new UsageError(`${arg} is not a file (looked at ${path})`);
}

/**
 * Opening a file with the SQLite store migrates it, which would turn any SQLite file (or an empty
 * one) into an empty ledger: refuse those. The header's user_version is the store's schema version.
 */
function checkSqliteLedger(arg: string, path: string): void {
  const header = Buffer.alloc(100);
  const fd = openSync(path, 'r');
  let read: number;
  try {
    read = readSync(fd, header, 0, header.length, 0);
  } finally {
    closeSync(fd);
  }
  // A writer that is still open may hold the migration in its WAL, not yet in the main file.
  const hasWal = existsSync(`${path}-wal`);
  if (read === 0) {
    if (hasWal) return;
    throw new UsageError(`${arg} is empty, not a Custody ledger; check the path`);
  }
  if (read < 100 || header.toString('latin1', 0, 16) !== SQLITE_MAGIC) {
    throw new UsageError(
      `${arg} is not a SQLite database${arg.endsWith('.json') ? ' (a JSONL export must end in .jsonl)' : ''}; give a Custody SQLite file, a postgres:// URL or a .jsonl export`,
    );
  }
  if (header.readUInt32BE(60) === 0 && !hasWal) {
    throw new UsageError(
      `${arg} is a SQLite database but not a Custody ledger (it has no Custody schema); check the path`,
    );
  }
}

/** A connection URL with its password masked, fit for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:@/]+):[^@/]*@/i, '$1:***@');
}
