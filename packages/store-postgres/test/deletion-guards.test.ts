import { randomBytes } from 'node:crypto';
import { type CheckpointKeys, createLedger, type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import {
  forgedPruneRecord,
  forgedRedactionRecord,
  holdEvent,
  nextEvent,
  operatorKey,
  recordHold,
  recordPrune,
  recordRedaction,
  runEvents,
  signedAgain,
} from '@custody/store-conformance';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores, postgresMigrations } from '../src/index.js';
import { HOLD_LOCK_CLASS } from '../src/migrations.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

const REQUEST = { requestedBy: 'user:dpo@example.com', reason: 'erasure request #42' };

/** The columns of an event, as a raw INSERT by a role with INSERT on the table writes them. */
const INSERT_COLUMNS =
  'stream, seq, id, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, payload_hash, prev_hash, hash, payload, salt';
function insertParams(e: LedgerEvent): unknown[] {
  return [
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
  ];
}

describePostgres(
  'PostgreSQL store guards (deleteStreams, erasePayload) as the least-privileged roles',
  () => {
    const schema = freshSchemaName();
    const admin = createTestPool(4);
    const pools: pg.Pool[] = [];
    const roles: string[] = [];
    const suffix = randomBytes(4).toString('hex');
    const appRole = `custody_app_${suffix}`;
    const pruneRole = `custody_prune_${suffix}`;
    const table = `"${schema}".ledger_events`;
    let owner: PostgresStores;
    let app: PostgresStores;
    let pruner: PostgresStores;
    let appPool: pg.Pool;
    let prunerPool: pg.Pool;
    let counter = 0;
    /** A tenant of its own per test: holds and operator streams never leak between tests. */
    const tenant = () => `tenant-${++counter}`;
    const as = (role: string) => {
      const pool = createTestPool(3, { options: `-c role=${role}` });
      pools.push(pool);
      return pool;
    };
    const count = async (stream: string) =>
      Number((await admin.query(`SELECT count(*) AS n FROM ${table} WHERE stream = $1`, [stream])).rows[0].n);
    const payloadOf = async (id: string) =>
      (await admin.query(`SELECT convert_from(payload, 'UTF8') AS p FROM ${table} WHERE id = $1`, [id]))
        .rows[0]?.p as string | null;

    /**
     * Verifies tenant `t`'s part of the shared schema: its events, against the checkpoints signed
     * by one of `keys` (each test has keys of its own), checking only its streams' heads.
     */
    const verifyTenant = async (t: string, keys: CheckpointKeys) => {
      const checkpoints = (await owner.ledger.listCheckpoints()).filter(
        (checkpoint) => checkpoint.signature !== undefined && checkpoint.signature.keyId in keys,
      );
      const events = (await readAll(owner.ledger)).filter((event) => event.tenant === t);
      const streams = new Set(events.map((event) => event.stream));
      for (const checkpoint of checkpoints) {
        for (const stream of Object.keys(checkpoint.heads))
          if (stream.startsWith(`${t}-`)) streams.add(stream);
      }
      return verifyLedger(events, { checkpoints, keys, streams: [...streams] });
    };

    beforeAll(async () => {
      for (const role of [appRole, pruneRole]) {
        await admin.query(`CREATE ROLE ${role} NOLOGIN`);
        roles.push(role);
      }
      owner = createPostgresStores({ client: admin, schema });
      await owner.migrate({ appRole, pruneRole });
      appPool = as(appRole);
      prunerPool = as(pruneRole);
      app = createPostgresStores({ client: appPool, schema });
      pruner = createPostgresStores({ client: prunerPool, schema });
    });

    afterAll(async () => {
      await Promise.all(pools.map((pool) => pool.end()));
      await dropSchema(admin, schema);
      for (const role of roles) await admin.query(`DROP ROLE IF EXISTS ${role}`);
      await admin.end();
    });

    describe('deleteStreams (the prune role) refuses, deleting nothing', () => {
      it('without a ledger.pruned record naming the head', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 3, { tenant: t });
        await app.ledger.append(run);
        await expect(pruner.ledger.deleteStreams([run[0]!.stream])).rejects.toMatchObject({
          code: 'CUSTODY_STORE_ERROR',
          message: `[custody] no ledger.pruned record names stream ${t}-run at its head seq 2; prune through createLedger().prune`,
          details: { stream: `${t}-run`, seq: 2, hash: run[2]!.hash },
        });
        expect(await count(run[0]!.stream)).toBe(3);
      });

      it('with a record naming another head, in another stream or tenant, or of another type', async () => {
        const t = tenant();
        const s = `${t}-run`;
        const run = runEvents(s, 3, { tenant: t });
        await app.ledger.append(run);
        const op = `operator:${t}`;
        const stale = forgedPruneRecord(t, [run.slice(0, 2)], undefined);
        const wrongHash = forgedPruneRecord(t, [], stale, {
          entries: [{ stream: s, seq: 2, hash: run[1]!.hash }],
        });
        const asText = forgedPruneRecord(t, [], wrongHash, {
          entries: [{ stream: s, seq: '2', hash: run[2]!.hash }],
        });
        const notPrune = forgedPruneRecord(t, [run], asText, { envelope: { type: 'ledger.exported' } });
        const mislabelled = forgedPruneRecord(t, [run], notPrune, { envelope: { tenant: 'elsewhere' } });
        await app.ledger.append([stale, wrongHash, asText, notPrune, mislabelled]);
        await app.ledger.append([forgedPruneRecord(`${t}-other`, [run], undefined)]);
        await app.ledger.append([
          forgedPruneRecord(t, [run], undefined, { envelope: { stream: `${op}-x` } }),
        ]);
        await expect(pruner.ledger.deleteStreams([s])).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
        expect(await count(s)).toBe(3);
        await recordPrune(app.ledger, t, [run]);
        // Records written since, naming other streams: the one naming this run is found further back.
        const second = runEvents(`${t}-second`, 2, { tenant: t });
        await app.ledger.append(second);
        await recordPrune(app.ledger, t, [second]);
        await recordPrune(app.ledger, t, [runEvents(`${t}-unrelated`, 1, { tenant: t })]);
        expect(await pruner.ledger.deleteStreams([s, 'no-such-stream', second[0]!.stream])).toBe(5);
      });

      it('for a held run or tenant, and for every stream of a call one of whose streams is held', async () => {
        const t = tenant();
        const [held, free] = [
          runEvents(`${t}-held`, 2, { tenant: t }),
          runEvents(`${t}-free`, 2, { tenant: t }),
        ];
        await app.ledger.append([...held, ...free]);
        await recordHold(app.ledger, 'ledger.hold_placed', t, held[0]!.runId);
        await recordPrune(app.ledger, t, [held, free]);
        await expect(pruner.ledger.deleteStreams([free[0]!.stream, held[0]!.stream])).rejects.toMatchObject({
          code: 'CUSTODY_LEGAL_HOLD',
          message: `[custody] stream ${t}-held cannot be deleted: run ${t}-held of tenant ${t} is under legal hold; release the hold first (createLedger().releaseHold)`,
          details: { stream: `${t}-held`, tenant: t, runId: `${t}-held` },
        });
        expect([await count(free[0]!.stream), await count(held[0]!.stream)]).toEqual([2, 2]);
        await recordHold(app.ledger, 'ledger.hold_placed', t, null);
        await recordHold(app.ledger, 'ledger.hold_released', t, held[0]!.runId);
        await expect(pruner.ledger.deleteStreams([free[0]!.stream])).rejects.toMatchObject({
          code: 'CUSTODY_LEGAL_HOLD',
          message: expect.stringContaining(`tenant ${t} is under legal hold`),
        });
        await recordHold(app.ledger, 'ledger.hold_released', t, null);
        expect(await pruner.ledger.deleteStreams([held[0]!.stream, free[0]!.stream])).toBe(4);
      });

      it('reads holds whose payload holds U+0000, and a run id with a literal "\\u0000" in it', async () => {
        const t = tenant();
        // Six characters, backslash included: canonical JSON writes them as "\\u0000", no escape of U+0000.
        const runId = `${t}-run\\u0000x`;
        const run = runEvents(runId, 2, { tenant: t });
        await app.ledger.append(run);
        // The hold as createLedger().hold writes it, its reason holding a real U+0000.
        const hold = nextEvent(await app.ledger.head(`operator:${t}`), {
          stream: `operator:${t}`,
          runId: null,
          traceId: null,
          spanId: null,
          type: 'ledger.hold_placed',
          tenant: t,
          actor: 'user:counsel',
          payload: { runId, reason: 'nul \u0000 inside', requestedBy: 'user:counsel' },
        });
        await app.ledger.append([hold]);
        await recordPrune(app.ledger, t, [run]);
        await expect(pruner.ledger.deleteStreams([runId])).rejects.toMatchObject({
          code: 'CUSTODY_LEGAL_HOLD',
        });
        expect(await count(runId)).toBe(2);
        await recordHold(app.ledger, 'ledger.hold_released', t, runId);
        await recordPrune(app.ledger, t, [run]);
        expect(await pruner.ledger.deleteStreams([runId])).toBe(2);
      });
    });

    describe('forged records: the database deletes or erases (it checks no signatures), verification catches them', () => {
      it('an unsigned ledger.pruned appended by the app role cannot hide a checkpointed run', async () => {
        const { signer, keys } = operatorKey(`key-${randomBytes(4).toString('hex')}`);
        const t = tenant();
        const [victim, kept] = [
          runEvents(`${t}-victim`, 3, { tenant: t }),
          runEvents(`${t}-kept`, 2, { tenant: t }),
        ];
        await app.ledger.append([...victim, ...kept]);
        await createLedger({ store: app.ledger, signer }).checkpoint();
        await recordPrune(app.ledger, t, [victim]);
        expect(await pruner.ledger.deleteStreams([victim[0]!.stream])).toBe(3);
        expect(await verifyTenant(t, keys)).toMatchObject({
          ok: false,
          problem: { code: 'OPERATOR_UNSIGNED', kind: 'forged' },
        });
      });

      it('a ledger.pruned signed by a key verification does not trust is caught too', async () => {
        const { signer, keys } = operatorKey(`key-${randomBytes(4).toString('hex')}`);
        const { signer: mallory } = operatorKey(`mallory-${randomBytes(4).toString('hex')}`);
        const t = tenant();
        const victim = runEvents(`${t}-victim`, 2, { tenant: t });
        await app.ledger.append(victim);
        await createLedger({ store: app.ledger, signer }).checkpoint();
        const record = forgedPruneRecord(t, [victim], undefined);
        await app.ledger.append([await signedAgain(record, undefined, mallory)]);
        expect(await pruner.ledger.deleteStreams([victim[0]!.stream])).toBe(2);
        expect(await verifyTenant(t, keys)).toMatchObject({
          ok: false,
          problem: { code: 'OPERATOR_UNKNOWN_KEY', kind: 'forged' },
        });
      });

      it('an unsigned ledger.redacted appended by the app role lets the prune role erase; verification catches it', async () => {
        const { signer, keys } = operatorKey(`key-${randomBytes(4).toString('hex')}`);
        const t = tenant();
        const run = runEvents(`${t}-run`, 3, { tenant: t, payload: (i) => ({ secret: `s-${i}` }) });
        await app.ledger.append(run);
        await createLedger({ store: app.ledger, signer }).checkpoint();
        await recordRedaction(app.ledger, run[0]!);
        expect(await pruner.ledger.erasePayload(run[0]!.id)).toBe(true);
        expect(await verifyTenant(t, keys)).toMatchObject({
          ok: false,
          problem: { code: 'OPERATOR_UNSIGNED', kind: 'forged' },
        });
      });

      it('createLedger() prune and redact, as the prune role with the operator key, verify', async () => {
        const { signer, keys } = operatorKey(`key-${randomBytes(4).toString('hex')}`);
        const t = tenant();
        const later = { now: () => Date.parse('2031-06-01T00:00:00.000Z') };
        const ledger = createLedger({ store: pruner.ledger, signer, clock: later });
        const [old, kept] = [
          runEvents(`${t}-old`, 3, { tenant: t }),
          runEvents(`${t}-kept`, 3, { tenant: t }),
        ];
        await app.ledger.append([...old, ...kept]);
        await ledger.redact(kept[1]!.id, REQUEST);
        await ledger.hold({
          tenant: t,
          runId: kept[0]!.runId!,
          requestedBy: 'user:counsel',
          reason: 'case 9',
        });
        expect(await ledger.prune({ tenant: t, before: '2031-01-01T00:00:00.000Z', ...REQUEST })).toEqual({
          runs: 1,
          events: 3,
        });
        await ledger.checkpoint();
        const verification = await verifyTenant(t, keys);
        expect(verification.ok ? 'ok' : verification.problem.message).toBe('ok');
        expect(verification).toMatchObject({ redacted: 1, signedOperatorRecords: 2 });
      });
    });

    describe('erasePayload (the prune role) refuses, erasing nothing', () => {
      it('without a ledger.redacted record naming the event and its payload hash', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 3, { tenant: t, payload: (i) => ({ secret: `s-${i}` }) });
        const other = runEvents(`${t}-other`, 1, { tenant: t });
        await app.ledger.append([...run, ...other]);
        const target = run[1]!;
        await expect(pruner.ledger.erasePayload(target.id)).rejects.toMatchObject({
          code: 'CUSTODY_STORE_ERROR',
          message: `[custody] no ledger.redacted record in stream ${target.stream} names event ${target.id} with its payload hash; redact through createLedger().redact`,
          details: { eventId: target.id, stream: target.stream },
        });
        const wrongHash = forgedRedactionRecord(target, run[2]!, { payloadHash: run[0]!.payloadHash });
        const notRedaction = forgedRedactionRecord(target, wrongHash, {}, { type: 'ledger.exported' });
        const elsewhere = forgedRedactionRecord(target, other[0]!, {}, { stream: other[0]!.stream });
        await app.ledger.append([wrongHash, notRedaction, elsewhere]);
        await expect(pruner.ledger.erasePayload(target.id)).rejects.toMatchObject({
          code: 'CUSTODY_STORE_ERROR',
        });
        expect(await payloadOf(target.id)).toBe('{"secret":"s-1"}');
        await recordRedaction(app.ledger, target);
        expect(await pruner.ledger.erasePayload(target.id)).toBe(true);
        expect(await pruner.ledger.erasePayload(target.id), 'again: already erased').toBe(true);
        expect(await pruner.ledger.erasePayload(`${t}-run:99`), 'an unknown id').toBe(false);
        expect(await payloadOf(target.id)).toBeNull();
      });

      it('for a held run or tenant, even with its record', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t, payload: (i) => ({ secret: `s-${i}` }) });
        await app.ledger.append(run);
        await recordRedaction(app.ledger, run[0]!);
        await recordHold(app.ledger, 'ledger.hold_placed', t, run[0]!.runId);
        await expect(pruner.ledger.erasePayload(run[0]!.id)).rejects.toMatchObject({
          code: 'CUSTODY_LEGAL_HOLD',
          message: `[custody] event ${run[0]!.id} cannot be erased: run ${t}-run of tenant ${t} is under legal hold; release the hold first (createLedger().releaseHold)`,
          details: { eventId: run[0]!.id, tenant: t, runId: `${t}-run` },
        });
        await recordHold(app.ledger, 'ledger.hold_released', t, run[0]!.runId);
        await recordHold(app.ledger, 'ledger.hold_placed', t, null);
        await expect(pruner.ledger.erasePayload(run[0]!.id)).rejects.toMatchObject({
          code: 'CUSTODY_LEGAL_HOLD',
          message: expect.stringContaining(`tenant ${t} is under legal hold`),
        });
        expect(await payloadOf(run[0]!.id)).toBe('{"secret":"s-0"}');
      });
    });

    describe('a hold placed while a deletion or an erasure is under way', () => {
      /** Waits until some session waits for the hold lock (a real lock wait, seen in pg_locks). */
      const lockWaiter = async (settled: () => boolean) => {
        // Or until the call settled without waiting (what a store that takes no lock does).
        while (!settled()) {
          const { rows } = await admin.query(
            `SELECT count(*) AS n FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = $1::oid`,
            [HOLD_LOCK_CLASS],
          );
          if (Number(rows[0].n) > 0) return;
        }
      };

      it('is not missed: the deletion waits for the hold to commit, then refuses', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t });
        await app.ledger.append(run);
        await recordPrune(app.ledger, t, [run]);
        // The app role places a hold in a transaction that has not committed yet.
        const holder = await appPool.connect();
        try {
          await holder.query('BEGIN');
          const hold = holdEvent(
            'ledger.hold_placed',
            t,
            run[0]!.runId,
            await app.ledger.head(`operator:${t}`),
          );
          await holder.query(
            `INSERT INTO ${table} (${INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
            insertParams(hold),
          );
          let settled = false;
          const deletion = pruner.ledger.deleteStreams([run[0]!.stream]).then(
            () => 'deleted',
            (error: { code?: string }) => error.code,
          );
          void deletion.finally(() => {
            settled = true;
          });
          await lockWaiter(() => settled);
          await holder.query('COMMIT');
          expect(await deletion).toBe('CUSTODY_LEGAL_HOLD');
        } finally {
          await holder.query('ROLLBACK').catch(() => {});
          holder.release();
        }
        expect(await count(run[0]!.stream)).toBe(2);
      });

      it('is not missed by an erasure either', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t });
        await app.ledger.append(run);
        await recordRedaction(app.ledger, run[0]!);
        const holder = await appPool.connect();
        try {
          await holder.query('BEGIN');
          const hold = holdEvent('ledger.hold_placed', t, null, await app.ledger.head(`operator:${t}`));
          await holder.query(
            `INSERT INTO ${table} (${INSERT_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)`,
            insertParams(hold),
          );
          let settled = false;
          const erasure = pruner.ledger.erasePayload(run[0]!.id).then(
            () => 'erased',
            (error: { code?: string }) => error.code,
          );
          void erasure.finally(() => {
            settled = true;
          });
          await lockWaiter(() => settled);
          await holder.query('COMMIT');
          expect(await erasure).toBe('CUSTODY_LEGAL_HOLD');
        } finally {
          await holder.query('ROLLBACK').catch(() => {});
          holder.release();
        }
        expect(await payloadOf(run[0]!.id)).not.toBeNull();
      });

      it('the functions refuse to run under REPEATABLE READ, where they could miss one', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t });
        await app.ledger.append(run);
        await recordPrune(app.ledger, t, [run]);
        const db = await prunerPool.connect();
        try {
          await db.query('BEGIN ISOLATION LEVEL REPEATABLE READ');
          await expect(
            db.query(`SELECT "${schema}".ledger_delete_streams($1::text[])`, [[run[0]!.stream]]),
          ).rejects.toThrow(/must run in a READ COMMITTED transaction/);
        } finally {
          await db.query('ROLLBACK');
          db.release();
        }
        expect(await count(run[0]!.stream)).toBe(2);
      });
    });

    describe('plain SQL, as each role', () => {
      it('the app role can neither erase nor delete: a clear error through the store, permission denied in SQL', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t });
        await app.ledger.append(run);
        await recordRedaction(app.ledger, run[0]!);
        await recordPrune(app.ledger, t, [
          [...run, (await readAll(app.ledger, { stream: run[0]!.stream })).at(-1)!],
        ]);
        await expect(app.ledger.erasePayload(run[0]!.id)).rejects.toMatchObject({
          code: 'CUSTODY_STORE_ERROR',
          message: expect.stringMatching(
            /the role connected may not erase payloads \(redact\): only migrate\(\)'s pruneRole .* may execute ledger_erase_payload\(\)/,
          ),
        });
        await expect(app.ledger.deleteStreams([run[0]!.stream])).rejects.toMatchObject({
          code: 'CUSTODY_STORE_ERROR',
          message: expect.stringMatching(/may not delete streams \(prune\).*ledger_delete_streams\(\)/),
        });
        for (const sql of [
          `UPDATE ${table} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
          `UPDATE ${table} SET payload = NULL WHERE id = $1`,
          `DELETE FROM ${table} WHERE id = $1`,
        ]) {
          await expect(appPool.query(sql, [run[0]!.id]), sql).rejects.toThrow(/permission denied/);
        }
        await expect(appPool.query(`TRUNCATE ${table}`)).rejects.toThrow(/permission denied/);
        // Setting the flags the guard reads opens nothing either: the privileges are not there.
        const db = await appPool.connect();
        try {
          await db.query('BEGIN');
          await db.query(`SELECT set_config('custody.allow_erase', $1, true)`, [run[0]!.id]);
          await expect(
            db.query(
              `UPDATE ${table} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
              [run[0]!.id],
            ),
          ).rejects.toThrow(/permission denied/);
        } finally {
          await db.query('ROLLBACK');
          db.release();
        }
        expect(await payloadOf(run[0]!.id)).not.toBeNull();
        expect(await count(run[0]!.stream)).toBe(3);
      });

      it('the prune role has no UPDATE or DELETE on the table either, only the two functions', async () => {
        const t = tenant();
        const run = runEvents(`${t}-run`, 2, { tenant: t });
        await app.ledger.append(run);
        const db = await prunerPool.connect();
        try {
          await db.query('BEGIN');
          await db.query(`SELECT set_config('custody.allow_erase', $1, true)`, [run[0]!.id]);
          await db.query(`SET LOCAL custody.allow_prune = 'on'`);
          await expect(
            db.query(
              `UPDATE ${table} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
              [run[0]!.id],
            ),
          ).rejects.toThrow(/permission denied/);
        } finally {
          await db.query('ROLLBACK');
          db.release();
        }
        await expect(
          prunerPool.query(`DELETE FROM ${table} WHERE stream = $1`, [run[0]!.stream]),
        ).rejects.toThrow(/permission denied/);
        // The owner cannot skip the function either, short of switching the triggers off.
        await expect(
          admin.query(
            `UPDATE ${table} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
            [run[0]!.id],
          ),
        ).rejects.toThrow(/append-only: UPDATE/);
        expect(await payloadOf(run[0]!.id)).not.toBeNull();
      });
    });

    describe('an install migrated before schema 5', () => {
      it('is migrated: the app role loses UPDATE, the prune role gains erasure, the guards hold', async () => {
        const old = freshSchemaName();
        const oldApp = `custody_oldapp_${suffix}`;
        const oldPrune = `custody_oldprune_${suffix}`;
        for (const role of [oldApp, oldPrune]) {
          await admin.query(`CREATE ROLE ${role} NOLOGIN`);
          roles.push(role);
        }
        try {
          await admin.query(`CREATE SCHEMA "${old}"`);
          await admin.query(
            `CREATE TABLE "${old}".schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())`,
          );
          for (const migration of postgresMigrations(old).slice(0, 4)) {
            await admin.query(migration.sql);
            await admin.query(`INSERT INTO "${old}".schema_migrations (version, name) VALUES ($1, $2)`, [
              migration.version,
              migration.name,
            ]);
          }
          // What migrate({ appRole, pruneRole }) granted at schema 4.
          for (const role of [oldApp, oldPrune]) {
            await admin.query(`GRANT USAGE ON SCHEMA "${old}" TO ${role}`);
            await admin.query(`GRANT SELECT ON "${old}".schema_migrations TO ${role}`);
            await admin.query(`GRANT SELECT, INSERT ON "${old}".ledger_events TO ${role}`);
            await admin.query(
              `GRANT UPDATE (payload, salt, tool, outcome) ON "${old}".ledger_events TO ${role}`,
            );
          }
          await admin.query(
            `GRANT EXECUTE ON FUNCTION "${old}".ledger_delete_streams(text[]) TO ${oldPrune}`,
          );

          await createPostgresStores({ client: admin, schema: old }).migrate();
          const privileges = await admin.query(
            `SELECT r.role,
                  has_column_privilege(r.role, '"${old}".ledger_events', 'payload', 'UPDATE') AS update_payload,
                  has_function_privilege(r.role, '"${old}".ledger_erase_payload(text)', 'EXECUTE') AS erase,
                  has_function_privilege(r.role, '"${old}".ledger_delete_streams(text[])', 'EXECUTE') AS prune
             FROM unnest($1::text[]) AS r(role) ORDER BY r.role`,
            [[oldApp, oldPrune]],
          );
          expect(privileges.rows).toEqual([
            { role: oldApp, update_payload: false, erase: false, prune: false },
            { role: oldPrune, update_payload: false, erase: true, prune: true },
          ]);
          const t = tenant();
          const run = runEvents(`${t}-run`, 2, { tenant: t });
          const oldAppStores = createPostgresStores({ client: as(oldApp), schema: old });
          const oldPruneStores = createPostgresStores({ client: as(oldPrune), schema: old });
          await oldAppStores.ledger.append(run);
          await expect(oldAppStores.ledger.erasePayload(run[0]!.id)).rejects.toMatchObject({
            message: expect.stringMatching(/may not erase payloads/),
          });
          await expect(oldPruneStores.ledger.erasePayload(run[0]!.id)).rejects.toMatchObject({
            code: 'CUSTODY_STORE_ERROR',
            message: expect.stringMatching(/no ledger.redacted record/),
          });
          await expect(oldPruneStores.ledger.deleteStreams([run[0]!.stream])).rejects.toMatchObject({
            code: 'CUSTODY_STORE_ERROR',
            message: expect.stringMatching(/no ledger.pruned record/),
          });
        } finally {
          await dropSchema(admin, old);
        }
      });
    });
  },
);
