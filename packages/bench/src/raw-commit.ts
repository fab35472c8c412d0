import { mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname } from 'node:path';
import { canonicalize } from '@custody/core/ledger';
import type { SqliteDatabase, SqliteDriver, SqliteStatement } from '@custody/store-sqlite';
import pg from 'pg';
import { ticketResultPayload } from './ledger-throughput.js';
import { type ConcurrentLoopOptions, type ConcurrentRate, timeConcurrentLoops } from './measure.js';

/**
 * An engine's raw durable commit, the floor every gated call is compared with: one one-row
 * INSERT in its own transaction, on the same engine, build and settings as the store, with a row
 * shaped like a ledger event (~500 bytes of canonical JSON).
 */
export interface RawCommits {
  /** What one commit is, for the report. */
  readonly description: string;
  /** Commits one row; resolves (or returns) once the engine says it is durable. */
  commit(index: number): void | Promise<void>;
  /**
   * Commits per second with `loops` writers committing back to back, each its own transaction:
   * what the engine gives concurrent writers without any batching of Custody's.
   */
  concurrentRate(options: ConcurrentLoopOptions): Promise<ConcurrentRate>;
  close(): Promise<void>;
}

const CREATE_TABLE = (table: string) =>
  `CREATE TABLE ${table} (id INTEGER PRIMARY KEY, stream TEXT NOT NULL, payload TEXT NOT NULL)`;

// Encoded before any clock starts, so a raw commit times the engine only; rows cycle through them.
const ROW_PAYLOADS = Array.from({ length: 64 }, (_, index) =>
  canonicalize(ticketResultPayload('raw-commit', index)),
);

function rowPayload(index: number): string {
  return ROW_PAYLOADS[index % ROW_PAYLOADS.length]!;
}

/**
 * better-sqlite3 as `@custody/store-sqlite` loads it: the very build the store runs on, resolved
 * from the store's own dependencies rather than a second copy in this package.
 */
function storeSqliteDriver(): SqliteDriver {
  const storeManifest = createRequire(import.meta.url).resolve('@custody/store-sqlite/package.json');
  const module = createRequire(storeManifest)('better-sqlite3') as SqliteDriver | { default: SqliteDriver };
  return typeof module === 'function' ? module : module.default;
}

/**
 * Raw SQLite commits into a new file at `path` (its folder created), opened with the pragmas the
 * store opens its file with (WAL, synchronous=FULL, the store's busy timeout and secure_delete):
 * each commit is `BEGIN; INSERT one row; COMMIT`, one fsync of the WAL.
 */
export function openRawSqliteCommits(path: string): RawCommits {
  mkdirSync(dirname(path), { recursive: true });
  const Driver = storeSqliteDriver();
  const db: SqliteDatabase = new Driver(path, { timeout: 5_000 });
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('busy_timeout = 5000');
  db.pragma('secure_delete = ON');
  db.exec(CREATE_TABLE('raw_commit'));
  const insert: SqliteStatement = db.prepare('INSERT INTO raw_commit (stream, payload) VALUES (?, ?)');
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const commitOne = (index: number) => {
    begin.run();
    try {
      insert.run('raw-commit', rowPayload(index));
      commit.run();
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw error;
    }
  };
  return {
    description:
      'SQLite: BEGIN IMMEDIATE; INSERT one ~500 B row; COMMIT, on its own file in the same temporary folder, ' +
      'same build and pragmas as the store (WAL, synchronous=FULL)',
    commit: commitOne,
    // better-sqlite3 is synchronous and SQLite has one writer at a time, so more connections
    // would only queue on the lock: the loops share the store's kind of single connection.
    concurrentRate: (options) => timeConcurrentLoops((_, index) => commitOne(index), options),
    close: async () => {
      if (db.open) db.close();
    },
  };
}

/**
 * Raw PostgreSQL commits into a new table of `schema` (which must exist): each commit is one
 * autocommit `INSERT` of one row (a prepared statement, one round trip, one WAL flush at the
 * server's `synchronous_commit`). Concurrent writers each hold their own connection.
 */
export async function openRawPostgresCommits(url: string, schema: string): Promise<RawCommits> {
  const table = `"${schema}".raw_commit`;
  const pool = new pg.Pool({ connectionString: url, max: 32 });
  pool.on('error', () => {});
  await pool.query(CREATE_TABLE(table).replace('id INTEGER PRIMARY KEY', 'id BIGSERIAL PRIMARY KEY'));
  const insert = (index: number) => ({
    name: 'custody-bench-raw-commit',
    text: `INSERT INTO ${table} (stream, payload) VALUES ($1, $2)`,
    values: ['raw-commit', rowPayload(index)],
  });
  const lone = await pool.connect();
  return {
    description:
      'PostgreSQL: one autocommit INSERT of one ~500 B row (prepared, one round trip) into a table of the same schema, ' +
      "server's default synchronous_commit",
    commit: async (index) => {
      await lone.query(insert(index));
    },
    concurrentRate: async (options) => {
      const clients = await Promise.all(Array.from({ length: options.loops }, () => pool.connect()));
      try {
        return await timeConcurrentLoops(async (loop, index) => {
          await clients[loop]!.query(insert(index));
        }, options);
      } finally {
        for (const client of clients) client.release();
      }
    },
    close: async () => {
      lone.release();
      await pool.end();
    },
  };
}
