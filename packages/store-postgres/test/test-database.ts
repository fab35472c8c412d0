import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { describe, it } from 'vitest';

/** The PostgreSQL the adapter tests run against. */
export const POSTGRES_URL =
  process.env.CUSTODY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => {});
  }
}

const unreachable = await probe();

/**
 * `describe` for tests that need PostgreSQL. When the server cannot be reached, the tests fail
 * under CI (env `CI` set) and are skipped, loudly, everywhere else.
 */
export function describePostgres(name: string, body: () => void): void {
  if (unreachable === undefined) {
    describe(name, body);
    return;
  }
  const notice = `PostgreSQL at ${redact(POSTGRES_URL)} is unreachable (${unreachable}); set CUSTODY_TEST_POSTGRES_URL or start it (.ci/run)`;
  if (process.env.CI && !['0', 'false'].includes(process.env.CI.toLowerCase())) {
    describe(name, () => {
      it('reaches PostgreSQL', () => {
        throw new Error(notice);
      });
    });
    return;
  }
  console.warn(`\n${'!'.repeat(100)}\n!!! SKIPPED "${name}": ${notice}\n${'!'.repeat(100)}\n`);
  describe.skip(name, body);
}

function redact(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@');
}

/** A fresh schema name, unique per test file and run. */
export function freshSchemaName(): string {
  return `custody_test_${randomBytes(6).toString('hex')}`;
}

/** An independent pool, as one app instance would have. */
export function createTestPool(max = 5, config: pg.PoolConfig = {}): pg.Pool {
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max, ...config });
  pool.on('error', () => {});
  return pool;
}

/** Drops a test schema and everything in it. */
export async function dropSchema(pool: pg.Pool, schema: string): Promise<void> {
  await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
}
