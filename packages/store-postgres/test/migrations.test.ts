import { randomBytes } from 'node:crypto';
import { readAll } from '@custody/core';
import type pg from 'pg';
import { afterAll, expect, it } from 'vitest';
import { createPostgresStores, postgresMigrations } from '../src/index.js';
import { makeChain } from './events.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

describePostgres('PostgreSQL migrations', () => {
  const admin = createTestPool(3);
  const pools: pg.Pool[] = [];
  const schemas: string[] = [];
  const role = `custody_app_${randomBytes(4).toString('hex')}`;
  const fresh = () => {
    const schema = freshSchemaName();
    schemas.push(schema);
    return schema;
  };

  afterAll(async () => {
    for (const schema of schemas) await dropSchema(admin, schema);
    await admin.query(`DROP ROLE IF EXISTS ${role}`);
    await Promise.all(pools.map((pool) => pool.end()));
    await admin.end();
  });

  it('can run from many instances at once and again later, applying each version once', async () => {
    const schema = fresh();
    const instances = Array.from({ length: 6 }, () => {
      const pool = createTestPool(2);
      pools.push(pool);
      return createPostgresStores({ client: pool, schema });
    });
    await Promise.all(instances.map((stores) => stores.migrate()));
    await Promise.all(instances.map((stores) => stores.migrate()));
    const versions = await admin.query(
      `SELECT version, name FROM "${schema}".schema_migrations ORDER BY version`,
    );
    expect(versions.rows.map((row) => row.version)).toEqual(postgresMigrations(schema).map((m) => m.version));
    const events = makeChain('m', 2);
    await instances[0]!.ledger.append(events);
    expect(await readAll(instances[5]!.ledger)).toEqual(events);
  });

  it('tells the user to migrate when the tables are missing', async () => {
    const stores = createPostgresStores({ client: admin, schema: fresh() });
    await expect(stores.ledger.head('x')).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringMatching(/call `await stores.migrate\(\)`/),
    });
    await expect(stores.ledger.append(makeChain('x', 1))).rejects.toMatchObject({
      code: 'CUSTODY_LEDGER_WRITE_FAILED',
      message: expect.stringMatching(/migrate/),
    });
  });

  it('refuses a schema migrated by a newer version of the package', async () => {
    const schema = fresh();
    const stores = createPostgresStores({ client: admin, schema });
    await stores.migrate();
    await admin.query(
      `INSERT INTO "${schema}".schema_migrations (version, name) VALUES (999, 'from the future')`,
    );
    await expect(stores.migrate()).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringMatching(/newer than this @custody\/store-postgres knows/),
    });
  });

  it('grants an app role only what it needs: it can append, never rewrite, erase or delete', async () => {
    const schema = fresh();
    await admin.query(`CREATE ROLE ${role} NOLOGIN`);
    const owner = createPostgresStores({ client: admin, schema });
    await owner.migrate({ appRole: role });
    await owner.migrate({ appRole: role });
    // The app's connections run as the role.
    const appPool = createTestPool(2, { options: `-c role=${role}` });
    pools.push(appPool);
    expect((await appPool.query('SELECT current_user AS who')).rows[0].who).toBe(role);
    const app = createPostgresStores({ client: appPool, schema });
    const events = makeChain('granted', 2);
    await app.ledger.append(events);
    // Erasing is the prune role's (through ledger_erase_payload()), not the app's.
    await expect(app.ledger.erasePayload(events[0]!.id)).rejects.toMatchObject({
      code: 'CUSTODY_STORE_ERROR',
      message: expect.stringMatching(/the role connected may not erase payloads \(redact\).*pruneRole/),
    });
    await expect(
      appPool.query(
        `UPDATE "${schema}".ledger_events SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL`,
      ),
    ).rejects.toThrow(/permission denied/);
    await app.idempotency.claim({
      tenant: 't',
      key: 'k',
      fingerprint: 'f',
      callId: 'c',
      leaseMs: 10,
      now: 0,
    });
    await app.ledger.appendCheckpoint({ schemaVersion: 1, createdAt: 'now', count: 0, heads: {}, root: 'r' });
    await expect(appPool.query(`DELETE FROM "${schema}".ledger_checkpoints`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(appPool.query(`UPDATE "${schema}".ledger_events SET hash = 'x'`)).rejects.toThrow(
      /permission denied/,
    );
    await expect(appPool.query(`DELETE FROM "${schema}".ledger_events`)).rejects.toThrow(/permission denied/);
    await expect(appPool.query(`TRUNCATE "${schema}".ledger_events`)).rejects.toThrow(/permission denied/);
    await expect(app.migrate()).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
    await admin.query(`DROP SCHEMA "${schema}" CASCADE`);
  });

  it('exposes its SQL for teams that apply migrations with their own tool', () => {
    const [first] = postgresMigrations('audit');
    expect(first).toMatchObject({ version: 1 });
    expect(first!.sql).toContain('CREATE TABLE "audit".ledger_events');
    expect(first!.sql).not.toMatch(/jsonb\s*(,|NOT|$)/m);
    expect(() => postgresMigrations('audit; DROP TABLE x')).toThrow(/plain SQL identifier/);
  });
});
