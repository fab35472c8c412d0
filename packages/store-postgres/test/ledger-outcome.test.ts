import { randomBytes } from 'node:crypto';
import { type ChainHead, type LedgerEvent, readAll } from '@custody/core';
import { canonicalize, sealEvent } from '@custody/core/ledger';
import { forgedRedactionRecord, recordPrune, recordRedaction } from '@custody/store-conformance';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores, postgresMigrations } from '../src/index.js';
import { asSuperuser } from './raw-postgres.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

/**
 * Payloads and the outcome each records: `payload.status ?? payload.outcome ?? payload.effect`,
 * when that is a string (null and missing fall through; any other value means no outcome). A
 * string holding U+0000 cannot be a PostgreSQL text value: its outcome is left NULL.
 */
const OUTCOMES: [unknown, string | null][] = [
  [{ tool: 'jira.create', status: 'ok' }, 'ok'],
  [{ outcome: 'succeeded' }, 'succeeded'],
  [{ effect: 'deny', ruleIds: ['r1'] }, 'deny'],
  [{ status: null, outcome: 'failed' }, 'failed'],
  [{ status: 7, outcome: 'ok' }, null],
  [{ status: 'ok', outcome: 'other', effect: 'allow' }, 'ok'],
  ['ok', null],
  [['ok'], null],
  [{ result: { status: 'ok' } }, null],
  [{ status: '' }, ''],
  [{ status: { code: 'ok' } }, null],
  [{ status: false, effect: 'allow' }, null],
  [{}, null],
  [42, null],
  [{ status: 'ünïcödé ✓ 😀' }, 'ünïcödé ✓ 😀'],
  [{ status: 'quote " backslash \\ newline \n' }, 'quote " backslash \\ newline \n'],
  [{ outcome: ['x'] }, null],
  [{ effect: 'allow' }, 'allow'],
  [{ status: 'nul\u0000inside', tool: 'nul\u0000tool' }, null],
  [{ note: 'U+0000 elsewhere: \u0000', 'key\u0000': 1, status: 'ok' }, 'ok'],
];

let clock = Date.UTC(2031, 0, 1);
function events(stream: string): LedgerEvent[] {
  const list: LedgerEvent[] = [];
  let prev: ChainHead | undefined;
  OUTCOMES.forEach(([payload], i) => {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date(clock++).toISOString(),
        type: i % 3 === 0 ? 'tool.result' : 'policy.decided',
        tenant: 'acme',
        actor: 'agent:test@1.0.0',
        payload,
      },
      prev,
    );
    list.push(event);
    prev = { seq: event.seq, hash: event.hash };
  });
  return list;
}

const expectedIds = (all: LedgerEvent[], outcome: string) =>
  all.filter((_, i) => OUTCOMES[i]![1] === outcome).map((event) => event.id);

describePostgres('PostgreSQL ledger outcome column', () => {
  const pool = createTestPool(4);
  const schemas: string[] = [];
  const roles: string[] = [];
  const pools: pg.Pool[] = [];
  let stores: PostgresStores;
  let schema: string;
  let counter = 0;
  const stream = () => `outcome-${++counter}`;
  const storedOutcomes = async (name: string, s: string) =>
    (
      await pool.query(`SELECT outcome FROM "${name}".ledger_events WHERE stream = $1 ORDER BY position`, [s])
    ).rows.map((row) => row.outcome as string | null);

  beforeAll(async () => {
    schema = freshSchemaName();
    schemas.push(schema);
    stores = createPostgresStores({ client: pool, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    await Promise.all(pools.map((extra) => extra.end()));
    for (const name of schemas) await dropSchema(pool, name);
    for (const role of roles) await pool.query(`DROP ROLE IF EXISTS ${role}`);
    await pool.end();
  });

  it('is filled at append time (never failing an append), indexed, and filters read and tail', async () => {
    const s = stream();
    const all = events(s);
    await stores.ledger.append(all.slice(0, 9));
    await stores.ledger.append(all.slice(9));
    expect(await storedOutcomes(schema, s)).toEqual(OUTCOMES.map(([, outcome]) => outcome));
    expect(await readAll(stores.ledger, { stream: s })).toEqual(all);
    for (const outcome of ['ok', 'succeeded', 'deny', 'failed', 'allow', '', 'ünïcödé ✓ 😀', 'other', '7']) {
      const read = await readAll(stores.ledger, { stream: s, outcome, limit: 2 });
      expect(
        read.map((event) => event.id),
        `outcome ${JSON.stringify(outcome)}`,
      ).toEqual(expectedIds(all, outcome));
    }
    expect((await stores.ledger.tail({ stream: s, outcome: 'ok' })).events.map((event) => event.id)).toEqual(
      expectedIds(all, 'ok'),
    );
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      await db.query('SET LOCAL enable_seqscan = off');
      const plan = await db.query(
        `EXPLAIN SELECT position FROM "${schema}".ledger_events WHERE outcome = $1 ORDER BY position LIMIT 10`,
        ['ok'],
      );
      expect(JSON.stringify(plan.rows)).toMatch(/ledger_events_outcome_idx/);
      await db.query('ROLLBACK');
    } finally {
      db.release();
    }
  });

  it('is erased with the payload, and cannot be erased or changed on its own', async () => {
    const s = stream();
    const all = events(s);
    await stores.ledger.append([...all, forgedRedactionRecord(all[0]!, all.at(-1)!)]);
    expect(await stores.ledger.erasePayload(all[0]!.id)).toBe(true);
    expect((await storedOutcomes(schema, s))[0]).toBeNull();
    expect((await readAll(stores.ledger, { stream: s, outcome: 'ok' })).map((event) => event.id)).toEqual(
      expectedIds(all, 'ok').slice(1),
    );
    const table = `"${schema}".ledger_events`;
    for (const sql of [
      `UPDATE ${table} SET outcome = NULL WHERE id = $1`,
      `UPDATE ${table} SET outcome = 'forged' WHERE id = $1`,
      `UPDATE ${table} SET payload = NULL, salt = NULL, tool = NULL WHERE id = $1`,
    ]) {
      await expect(pool.query(sql, [all[1]!.id]), sql).rejects.toThrow(/append-only/);
    }
  });

  it('refuses an outcome filter that is not a string', async () => {
    for (const outcome of [1, null, ['ok']]) {
      await expect(stores.ledger.read({ outcome } as never), JSON.stringify(outcome)).rejects.toMatchObject({
        code: 'CUSTODY_INVALID_ARGUMENT',
      });
    }
  });

  it('a payload changed outside Custody into bytes that are not JSON fails the read, naming the event', async () => {
    const s = stream();
    const all = events(s);
    await stores.ledger.append(all);
    await asSuperuser(pool, async (db) => {
      await db.query(
        `UPDATE "${schema}".ledger_events SET payload = convert_to('{"status":', 'UTF8') WHERE id = $1`,
        [all[4]!.id],
      );
    });
    await expect(readAll(stores.ledger, { stream: s })).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringContaining(`the stored payload of event ${all[4]!.id} is not JSON`),
      details: { eventId: all[4]!.id },
    });
  });

  describe('upgrading a schema migrated before retention and outcomes (migration 2)', () => {
    it('fills in stored outcomes, keeps the guard, and takes erasure from an app role granted it before', async () => {
      const old = freshSchemaName();
      schemas.push(old);
      const role = `custody_app_${randomBytes(4).toString('hex')}`;
      roles.push(role);
      await pool.query(`CREATE ROLE ${role} NOLOGIN`);
      await pool.query(`CREATE SCHEMA "${old}"`);
      await pool.query(
        `CREATE TABLE "${old}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
      );
      for (const migration of postgresMigrations(old).slice(0, 2)) {
        await pool.query(migration.sql);
        await pool.query(`INSERT INTO "${old}".schema_migrations (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
      // What migrate({ appRole }) granted before migration 4.
      await pool.query(`GRANT USAGE ON SCHEMA "${old}" TO ${role}`);
      await pool.query(`GRANT SELECT, INSERT ON "${old}".ledger_events TO ${role}`);
      await pool.query(`GRANT UPDATE (payload, salt, tool) ON "${old}".ledger_events TO ${role}`);
      const s = stream();
      const all = events(s);
      for (const e of all) {
        await pool.query(
          `INSERT INTO "${old}".ledger_events
             (stream, seq, id, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, tool, payload_hash, prev_hash, hash, payload, salt)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, $15, $16)`,
          [
            e.stream,
            e.seq,
            e.id,
            e.schemaVersion,
            e.runId,
            e.traceId,
            e.spanId,
            e.ts,
            e.type,
            e.tenant,
            e.actor,
            e.payloadHash,
            e.prevHash,
            e.hash,
            Buffer.from(canonicalize(e.payload), 'utf8'),
            e.salt,
          ],
        );
      }

      const upgraded = createPostgresStores({ client: pool, schema: old });
      await upgraded.migrate();
      const versions = await pool.query(`SELECT version FROM "${old}".schema_migrations ORDER BY version`);
      expect(versions.rows.map((row) => row.version)).toEqual(postgresMigrations(old).map((m) => m.version));
      expect(await storedOutcomes(old, s), 'outcomes filled in by the migration, as append would').toEqual(
        OUTCOMES.map(([, outcome]) => outcome),
      );
      expect(await readAll(upgraded.ledger)).toEqual(all);
      await expect(pool.query(`DELETE FROM "${old}".ledger_events`)).rejects.toThrow(/append-only/);

      const rolePool = createTestPool(2, { options: `-c role=${role}` });
      pools.push(rolePool);
      const app = createPostgresStores({ client: rolePool, schema: old });
      // Migration 5 took back the UPDATE the role was granted: erasure is the prune role's now.
      const redaction = await recordRedaction(upgraded.ledger, all[3]!);
      await expect(app.ledger.erasePayload(all[3]!.id)).rejects.toMatchObject({
        code: 'CUSTODY_STORE_ERROR',
        message: expect.stringMatching(/may not erase payloads.*pruneRole/),
      });
      await expect(
        rolePool.query(
          `UPDATE "${old}".ledger_events SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
          [all[3]!.id],
        ),
      ).rejects.toThrow(/permission denied/);
      expect(await upgraded.ledger.erasePayload(all[3]!.id)).toBe(true);
      expect(await readAll(upgraded.ledger, { outcome: 'failed' })).toEqual([]);
      await recordPrune(upgraded.ledger, 'acme', [[...all, redaction]]);
      expect(await upgraded.ledger.deleteStreams([s])).toBe(all.length + 1);
      await upgraded.close();
    });
  });
});
