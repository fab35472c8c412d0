import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPostgresStores } from '@custody/store-postgres';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, FIXTURE_RUNS, recordRuns } from './ledger-fixture.js';

const POSTGRES_URL = process.env.CUSTODY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

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
const inCI = process.env.CI !== undefined && !['', '0', 'false'].includes(process.env.CI.toLowerCase());
const notice = `PostgreSQL at ${POSTGRES_URL.replace(/\/\/([^:@/]+):[^@/]*@/, '//$1:***@')} is unreachable (${unreachable}); set CUSTODY_TEST_POSTGRES_URL or start it`;
if (unreachable !== undefined && !inCI) {
  console.warn(
    `\n${'!'.repeat(100)}\n!!! SKIPPED @custody/cli PostgreSQL tests: ${notice}\n${'!'.repeat(100)}\n`,
  );
}

describe.skipIf(unreachable !== undefined && !inCI)('the CLI on a PostgreSQL ledger', () => {
  const schema = `custody_cli_test_${randomBytes(6).toString('hex')}`;
  const pool = new pg.Pool({ connectionString: POSTGRES_URL, max: 2 });
  pool.on('error', () => {});
  let dir: string;
  let keys: string;

  beforeAll(async () => {
    if (unreachable !== undefined) throw new Error(notice);
    dir = mkdtempSync(join(tmpdir(), 'custody-cli-pg-'));
    keys = join(dir, 'keys');
    const stores = createPostgresStores({ connectionString: POSTGRES_URL, schema });
    await stores.migrate();
    await recordRuns(stores);
    await stores.close();
    expect((await cli(['keygen', '-o', keys, '--key-id', 'pg-test'])).code).toBe(0);
  });

  afterAll(async () => {
    if (unreachable === undefined) await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
    await pool.end();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('lists runs and shows a timeline from the URL and --schema', async () => {
    const runs = await cli(['runs', POSTGRES_URL, '--schema', schema]);
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain(FIXTURE_RUNS.refunded);
    expect(runs.stdout).toContain('00000000000000000000000000000001');
    expect(runs.stdout).toContain('orders.lookup, payments.refund');
    const tool = await cli(['runs', POSTGRES_URL, '--schema', schema, '--tool', 'payments.refund', '--json']);
    expect(JSON.parse(tool.stdout).map((run: { runId: string }) => run.runId)).toEqual([
      FIXTURE_RUNS.denied,
      FIXTURE_RUNS.refunded,
    ]);
    const shown = await cli(['show', POSTGRES_URL, FIXTURE_RUNS.denied, '--schema', schema]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain('payments.refund → DENY');
  });

  it('checkpoints, verifies with the key, exports, and verifies the export', async () => {
    const checkpoint = await cli([
      'checkpoint',
      POSTGRES_URL,
      '--schema',
      schema,
      '--key',
      join(keys, 'private.pem'),
      '--key-id',
      'pg-test',
    ]);
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    expect(checkpoint.stdout).toContain('covers   19 events in 3 streams');

    const verified = await cli([
      'verify',
      POSTGRES_URL,
      '--schema',
      schema,
      '--key',
      join(keys, 'public.pem'),
    ]);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('(PostgreSQL, schema custody_cli_test_');
    expect(verified.stdout).toContain('signatures verified');

    const file = join(dir, 'pg.jsonl');
    const exported = await cli([
      'export',
      POSTGRES_URL,
      '--schema',
      schema,
      '-o',
      file,
      '--requested-by',
      'user:auditor',
      '--reason',
      'pg test',
    ]);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('wrote 19 events');
    expect((await cli(['verify', file, '--key', join(keys, 'public.pem')])).code).toBe(0);
    const recorded = await pool.query(
      `SELECT actor FROM "${schema}".ledger_events WHERE type = 'ledger.exported'`,
    );
    expect(recorded.rows).toEqual([{ actor: 'user:auditor' }]);
  });

  it('fails verification after the table is edited behind the triggers', async () => {
    await pool.query(`ALTER TABLE "${schema}".ledger_events DISABLE TRIGGER ledger_events_append_only`);
    await pool.query(
      `UPDATE "${schema}".ledger_events
          SET payload = convert_to(replace(convert_from(payload, 'UTF8'), '"amountCents":500', '"amountCents":50'), 'UTF8')
        WHERE id = 'run_0001:5'`,
    );
    const result = await cli(['verify', POSTGRES_URL, '--schema', schema, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      problem: { code: 'PAYLOAD_MISMATCH', eventId: 'run_0001:5' },
    });
  });

  it('says when the schema holds no Custody tables', async () => {
    const result = await cli(['runs', POSTGRES_URL, '--schema', `${schema}_missing`]);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('hint: that database has no Custody tables in schema');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
