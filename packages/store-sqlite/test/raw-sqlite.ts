import type { LedgerCheckpoint, LedgerEvent } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import type { LedgerEventPatch, LedgerTamper } from '@custody/store-conformance';
import Database from 'better-sqlite3';

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
  if (field === 'payload') return value === null ? null : canonicalize(value);
  return value;
}

/**
 * Runs `work` on a second connection to the file, as someone with write access to it would: in
 * one transaction it drops every Custody trigger, makes its change and puts the triggers back,
 * so the file looks untouched to anyone checking its schema.
 */
export function asFileOwner<T>(path: string, work: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    db.exec('BEGIN IMMEDIATE');
    const triggers = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'trigger'").all() as {
      name: string;
      sql: string;
    }[];
    for (const trigger of triggers) db.exec(`DROP TRIGGER "${trigger.name}"`);
    const result = work(db);
    for (const trigger of triggers) db.exec(trigger.sql);
    db.exec('COMMIT');
    return result;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
}

function insert(db: Database.Database, event: LedgerEvent): void {
  const fields = Object.keys(COLUMNS) as (keyof LedgerEvent)[];
  db.prepare(
    `INSERT INTO custody_events (${fields.map((field) => COLUMNS[field]).join(', ')}) VALUES (${fields.map(() => '?').join(', ')})`,
  ).run(...fields.map((field) => stored(field, event[field])));
}

function posOf(db: Database.Database, eventId: string): number {
  const row = db.prepare('SELECT pos FROM custody_events WHERE id = ?').get(eventId) as
    | { pos: number }
    | undefined;
  if (!row) throw new Error(`no stored event ${eventId}`);
  return row.pos;
}

/** Raw access to the SQLite file at `path` for the tamper matrix: plain SQL, triggers out of the way. */
export function sqliteTamper(path: string): Required<LedgerTamper> {
  const run = async <T>(work: (db: Database.Database) => T): Promise<T> => asFileOwner(path, work);
  return {
    rawUpdate: (eventId, patch: LedgerEventPatch) =>
      run((db) => {
        const fields = Object.keys(patch) as (keyof LedgerEvent)[];
        const changed = db
          .prepare(
            `UPDATE custody_events SET ${fields.map((field) => `${COLUMNS[field]} = ?`).join(', ')} WHERE id = ?`,
          )
          .run(...fields.map((field) => stored(field, patch[field])), eventId).changes;
        if (changed !== 1) throw new Error(`no stored event ${eventId}`);
      }),
    rawDelete: (eventId) =>
      run((db) => {
        posOf(db, eventId);
        db.prepare('DELETE FROM custody_events WHERE id = ?').run(eventId);
      }),
    rawInsert: (event) => run((db) => insert(db, event)),
    rawRewriteAll: (events) =>
      run((db) => {
        db.exec('DELETE FROM custody_events');
        for (const event of events) insert(db, event);
      }),
    rawDeleteStream: (stream) =>
      run((db) => {
        db.prepare('DELETE FROM custody_events WHERE stream = ?').run(stream);
      }),
    rawSwapPayloads: (a, b) =>
      run((db) => {
        const read = db.prepare('SELECT payload, salt FROM custody_events WHERE id = ?');
        const write = db.prepare('UPDATE custody_events SET payload = ?, salt = ? WHERE id = ?');
        const [first, second] = [read.get(a), read.get(b)] as { payload: string; salt: string }[];
        write.run(second!.payload, second!.salt, a);
        write.run(first!.payload, first!.salt, b);
      }),
    rawErasePayload: (eventId) =>
      run((db) => {
        db.prepare('UPDATE custody_events SET payload = NULL, salt = NULL WHERE id = ?').run(eventId);
      }),
    rawSwapOrder: (a, b) =>
      run((db) => {
        const [posA, posB] = [posOf(db, a), posOf(db, b)];
        const move = db.prepare('UPDATE custody_events SET pos = ? WHERE pos = ?');
        move.run(-1, posA);
        move.run(posA, posB);
        move.run(posB, -1);
      }),
    rawReplaceCheckpoints: (checkpoints: readonly LedgerCheckpoint[]) =>
      run((db) => {
        db.exec('DELETE FROM custody_checkpoints');
        const add = db.prepare(
          'INSERT INTO custody_checkpoints (created_at, root, checkpoint) VALUES (?, ?, ?)',
        );
        for (const checkpoint of checkpoints)
          add.run(checkpoint.createdAt, checkpoint.root, canonicalize(checkpoint));
      }),
  };
}
