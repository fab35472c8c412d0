import { randomBytes } from 'node:crypto';
import { readAll, verifyLedger } from '@custody/core';
import { forgedPruneRecord, recordPrune } from '@custody/store-conformance';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import { makeChain } from './events.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

describePostgres('PostgreSQL ledger retention (deleteStreams)', () => {
  const schema = freshSchemaName();
  const pool = createTestPool(6);
  const pools: pg.Pool[] = [];
  const roles: string[] = [];
  let stores: PostgresStores;
  let counter = 0;
  const stream = (name = 'run') => `${name}-${++counter}`;
  const table = `"${schema}".ledger_events`;

  beforeAll(async () => {
    stores = createPostgresStores({ client: pool, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    await Promise.all(pools.map((extra) => extra.end()));
    await dropSchema(pool, schema);
    for (const role of roles) await pool.query(`DROP ROLE IF EXISTS ${role}`);
    await pool.end();
  });

  it('deletes whole streams, while the guard keeps refusing every other DELETE and TRUNCATE', async () => {
    const [a, b, c] = [makeChain(stream('a'), 3), makeChain(stream('b'), 2), makeChain(stream('c'), 4)];
    await stores.ledger.append([...a, ...b, ...c]);
    await recordPrune(stores.ledger, 'acme', [a, c]);
    for (const sql of [
      `DELETE FROM ${table} WHERE stream = '${a[0]!.stream}'`,
      `DELETE FROM ${table} WHERE id = '${b[1]!.id}'`,
      `TRUNCATE ${table}`,
    ]) {
      await expect(pool.query(sql), sql).rejects.toThrow(/append-only/);
    }
    expect(
      await stores.ledger.deleteStreams([a[0]!.stream, c[0]!.stream, 'no-such-stream', a[0]!.stream]),
    ).toBe(7);
    const rest = await readAll(stores.ledger, { stream: b[0]!.stream });
    expect(rest).toEqual(b);
    expect(await stores.ledger.head(a[0]!.stream)).toBeUndefined();
    expect(verifyLedger(rest).ok).toBe(true);
    expect(await stores.ledger.deleteStreams([])).toBe(0);
  });

  it('opens the way only for its own statement: the same session and transaction cannot delete after it', async () => {
    const [a, b] = [makeChain(stream('a'), 2), makeChain(stream('b'), 2)];
    await stores.ledger.append([...a, ...b]);
    await recordPrune(stores.ledger, 'acme', [a, b]);
    const db = await pool.connect();
    try {
      await db.query('BEGIN');
      const result = await db.query(`SELECT "${schema}".ledger_delete_streams($1::text[]) AS n`, [
        [a[0]!.stream],
      ]);
      expect(Number(result.rows[0].n)).toBe(2);
      await expect(db.query(`DELETE FROM ${table} WHERE stream = $1`, [b[0]!.stream])).rejects.toThrow(
        /append-only/,
      );
    } finally {
      await db.query('ROLLBACK');
      db.release();
    }
    expect(await readAll(stores.ledger, { stream: a[0]!.stream })).toEqual(a);
    expect(await readAll(stores.ledger, { stream: b[0]!.stream })).toEqual(b);
  });

  it('writes appends this instance queued before deleting, and refuses arguments it cannot use', async () => {
    const a = makeChain(stream('a'), 3);
    const operator = await stores.ledger.head('operator:acme');
    const pending = stores.ledger.append(a);
    // Queued after the run, in the same tick: both are written before the deletion.
    const recorded = stores.ledger.append([forgedPruneRecord('acme', [a], operator)]);
    expect(await stores.ledger.deleteStreams([a[0]!.stream])).toBe(3);
    await pending;
    await recorded;
    expect(await readAll(stores.ledger, { stream: a[0]!.stream })).toEqual([]);
    for (const bad of ['a-1', [1], null]) {
      await expect(stores.ledger.deleteStreams(bad as never), JSON.stringify(bad)).rejects.toMatchObject({
        code: 'CUSTODY_INVALID_ARGUMENT',
      });
    }
    await expect(stores.ledger.deleteStreams(['x'], { signal: AbortSignal.abort() })).rejects.toMatchObject({
      code: 'CUSTODY_ABORTED',
    });
  });

  describe('roles', () => {
    const roleName = (what: string) => {
      const role = `custody_${what}_${randomBytes(4).toString('hex')}`;
      roles.push(role);
      return role;
    };
    const connectAs = (role: string) => {
      const rolePool = createTestPool(2, { options: `-c role=${role}` });
      pools.push(rolePool);
      return { pool: rolePool, stores: createPostgresStores({ client: rolePool, schema }) };
    };

    it('the app role cannot prune; the prune role can, and only whole streams through the function', async () => {
      const app = roleName('app');
      const pruner = roleName('pruner');
      await pool.query(`CREATE ROLE ${app} NOLOGIN`);
      await pool.query(`CREATE ROLE ${pruner} NOLOGIN`);
      await stores.migrate({ appRole: app, pruneRole: pruner });
      const a = makeChain(stream('a'), 2);
      await stores.ledger.append(a);
      await recordPrune(stores.ledger, 'acme', [a]);

      const { stores: appStores } = connectAs(app);
      await expect(appStores.ledger.deleteStreams([a[0]!.stream])).rejects.toMatchObject({
        code: 'CUSTODY_STORE_ERROR',
        message: expect.stringMatching(/the role connected may not delete streams \(prune\).*pruneRole/s),
      });
      const { stores: prunerStores, pool: prunerPool } = connectAs(pruner);
      const b = makeChain(stream('b'), 2);
      await prunerStores.ledger.append(b);
      // Setting the flag by hand opens nothing: the role has no DELETE on the table at all.
      const db = await prunerPool.connect();
      try {
        await db.query('BEGIN');
        await db.query(`SET LOCAL custody.allow_prune = 'on'`);
        await expect(db.query(`DELETE FROM ${table}`)).rejects.toThrow(/permission denied/);
        await db.query('ROLLBACK');
      } finally {
        db.release();
      }
      expect(await prunerStores.ledger.deleteStreams([a[0]!.stream])).toBe(2);
      expect(await readAll(stores.ledger, { stream: a[0]!.stream })).toEqual([]);
      expect(await readAll(stores.ledger, { stream: b[0]!.stream })).toEqual(b);
    });

    it('the app role may prune when it is also the prune role, and loses it when it no longer is', async () => {
      const app = roleName('app');
      await pool.query(`CREATE ROLE ${app} NOLOGIN`);
      await stores.migrate({ appRole: app, pruneRole: app });
      const { stores: appStores } = connectAs(app);
      const a = makeChain(stream('a'), 2);
      await appStores.ledger.append(a);
      await recordPrune(appStores.ledger, 'acme', [a]);
      expect(await appStores.ledger.deleteStreams([a[0]!.stream])).toBe(2);
      await stores.migrate({ appRole: app });
      const b = makeChain(stream('b'), 1);
      await appStores.ledger.append(b);
      await recordPrune(appStores.ledger, 'acme', [b]);
      await expect(appStores.ledger.deleteStreams([b[0]!.stream])).rejects.toMatchObject({
        code: 'CUSTODY_STORE_ERROR',
      });
    });
  });
});
