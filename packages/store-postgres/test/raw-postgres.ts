import type { LedgerCheckpoint, LedgerEvent } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import type { LedgerEventPatch, LedgerTamper } from '@custody/store-conformance';
import type pg from 'pg';

const COLUMNS: Record<keyof LedgerEvent, string> = {
  schemaVersion: 'schema_version',
  id: 'id',
  stream: 'stream',
  seq: 'seq',
  runId: 'run_id',
  traceId: 'trace_id',
  spanId: 'span_id',
  ts: 'ts',
  type: 'type',
  tenant: 'tenant',
  actor: 'actor',
  payloadHash: 'payload_hash',
  prevHash: 'prev_hash',
  hash: 'hash',
  payload: 'payload',
  salt: 'salt',
};

function stored(field: keyof LedgerEvent, value: unknown): unknown {
  if (field === 'payload') return value === null ? null : Buffer.from(canonicalize(value), 'utf8');
  return value;
}

/**
 * Runs `work` in one transaction as a superuser who switched triggers off for it
 * (`session_replication_role = replica`): what the append-only guard cannot stop.
 */
export async function asSuperuser(pool: pg.Pool, work: (db: pg.PoolClient) => Promise<void>): Promise<void> {
  const db = await pool.connect();
  try {
    await db.query('BEGIN');
    await db.query('SET LOCAL session_replication_role = replica');
    await work(db);
    await db.query('COMMIT');
  } catch (error) {
    await db.query('ROLLBACK');
    throw error;
  } finally {
    db.release();
  }
}

/** Raw access to the ledger tables of `schema` for the tamper matrix: plain SQL, triggers off. */
export function postgresTamper(pool: pg.Pool, schema: string): Required<LedgerTamper> {
  const events = `"${schema}".ledger_events`;
  const checkpoints = `"${schema}".ledger_checkpoints`;
  const run = (work: (db: pg.PoolClient) => Promise<void>) => asSuperuser(pool, work);
  const insert = async (db: pg.PoolClient, event: LedgerEvent) => {
    const fields = Object.keys(COLUMNS) as (keyof LedgerEvent)[];
    await db.query(
      `INSERT INTO ${events} (${fields.map((field) => COLUMNS[field]).join(', ')}) VALUES (${fields.map((_, i) => `$${i + 1}`).join(', ')})`,
      fields.map((field) => stored(field, event[field])),
    );
  };
  const one = async (db: pg.PoolClient, sql: string, params: unknown[], eventId: string) => {
    const result = await db.query(sql, params);
    if (result.rowCount !== 1) throw new Error(`no stored event ${eventId}`);
  };
  return {
    rawUpdate: (eventId, patch: LedgerEventPatch) =>
      run(async (db) => {
        const fields = Object.keys(patch) as (keyof LedgerEvent)[];
        await one(
          db,
          `UPDATE ${events} SET ${fields.map((field, i) => `${COLUMNS[field]} = $${i + 1}`).join(', ')} WHERE id = $${fields.length + 1}`,
          [...fields.map((field) => stored(field, patch[field])), eventId],
          eventId,
        );
      }),
    rawDelete: (eventId) => run((db) => one(db, `DELETE FROM ${events} WHERE id = $1`, [eventId], eventId)),
    rawInsert: (event) => run((db) => insert(db, event)),
    rawRewriteAll: (all) =>
      run(async (db) => {
        await db.query(`DELETE FROM ${events}`);
        for (const event of all) await insert(db, event);
      }),
    rawDeleteStream: (stream) =>
      run(async (db) => {
        await db.query(`DELETE FROM ${events} WHERE stream = $1`, [stream]);
      }),
    rawSwapPayloads: (a, b) =>
      run(async (db) => {
        await db.query(
          `UPDATE ${events} e SET payload = o.payload, salt = o.salt
             FROM ${events} o WHERE (e.id, o.id) IN (($1, $2), ($2, $1))`,
          [a, b],
        );
      }),
    rawErasePayload: (eventId) =>
      run((db) =>
        one(db, `UPDATE ${events} SET payload = NULL, salt = NULL WHERE id = $1`, [eventId], eventId),
      ),
    // position is GENERATED ALWAYS: the two rows are taken out and put back with each other's.
    rawSwapOrder: (a, b) =>
      run(async (db) => {
        await db.query(
          `CREATE TEMP TABLE custody_swap ON COMMIT DROP AS SELECT * FROM ${events} WHERE id IN ($1, $2)`,
          [a, b],
        );
        await db.query(`DELETE FROM ${events} WHERE id IN ($1, $2)`, [a, b]);
        await db.query(
          `UPDATE custody_swap s SET position = o.position FROM custody_swap o WHERE s.id <> o.id`,
        );
        await db.query(`INSERT INTO ${events} OVERRIDING SYSTEM VALUE SELECT * FROM custody_swap`);
      }),
    rawReplaceCheckpoints: (list: readonly LedgerCheckpoint[]) =>
      run(async (db) => {
        await db.query(`DELETE FROM ${checkpoints}`);
        for (const checkpoint of list) {
          await db.query(`INSERT INTO ${checkpoints} (created_at, checkpoint) VALUES ($1, $2)`, [
            checkpoint.createdAt,
            Buffer.from(canonicalize(checkpoint), 'utf8'),
          ]);
        }
      }),
  };
}
