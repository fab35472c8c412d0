import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** The PostgreSQL server a bench section writes to, as probed before it starts. */
export interface PostgresServer {
  /** `PostgreSQL 15.4 …` */
  readonly server: string;
  /** `synchronous_commit` and `fsync`: with either off, commits are not durable and neither is a figure. */
  readonly synchronousCommit: string;
  readonly fsync: string;
}

/** The connection string with any password replaced, for printing. */
export function redactUrl(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/**
 * Connects once to see whether the server is there, and reads its durability settings; answers
 * why not (the error's message) when it cannot.
 */
export async function probePostgres(url: string): Promise<PostgresServer | string> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    const row = (
      await client.query(
        "SELECT current_setting('server_version') AS version, current_setting('synchronous_commit') AS sc, current_setting('fsync') AS fsync",
      )
    ).rows[0] as { version: string; sc: string; fsync: string };
    return { server: `PostgreSQL ${row.version}`, synchronousCommit: row.sc, fsync: row.fsync };
  } catch (error) {
    return error instanceof Error ? error.message || error.name : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

/** A fresh schema name, `custody_bench_` and 12 hex digits, so runs never share tables. */
export function freshSchemaName(): string {
  return `custody_bench_${randomBytes(6).toString('hex')}`;
}

/** Drops a schema the bench made, with everything in it. */
export async function dropSchema(url: string, schema: string): Promise<void> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3_000 });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end().catch(() => {});
  }
}
