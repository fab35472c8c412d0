import { CustodyError } from '@custody/core';
import type { SqliteDatabase } from './sqlite-driver.js';

const APPEND_ONLY =
  'custody: ledger events are append-only; the only change allowed is erasing payload, salt and tool (all set to NULL)';
const APPEND_ONLY_V3 =
  'custody: ledger events are append-only; only retention (deleteStreams) may delete, whole streams, inside its own transaction';
const APPEND_ONLY_V4 =
  'custody: ledger events are append-only; the only change allowed is erasing payload, salt, tool and outcome (all set to NULL)';
const APPEND_ONLY_V5 =
  'custody: ledger events are append-only; only a Custody store deletes (deleteStreams, through createLedger().prune) ' +
  'or erases (erasePayload, through createLedger().redact), inside its own transaction';

/**
 * The outcome of an event, in SQL over its canonical payload text: the first of `status`,
 * `outcome`, `effect` that is present and not null, when it is a string (as core's
 * `payload.status ?? payload.outcome ?? payload.effect`).
 */
const OUTCOME_SQL = ['status', 'outcome', 'effect']
  .map(
    (key) =>
      `WHEN coalesce(json_type(payload, '$.${key}'), 'null') <> 'null' ` +
      `THEN CASE json_type(payload, '$.${key}') WHEN 'text' THEN json_extract(payload, '$.${key}') END`,
  )
  .join('\n    ');

/**
 * Schema migrations, applied in order; the database's `user_version` counts how many ran.
 * Never edit a released migration: add a new one.
 */
export const MIGRATIONS: readonly string[] = [
  // 1: events, approvals, idempotency keys.
  `
  CREATE TABLE custody_events (
    pos            INTEGER PRIMARY KEY,
    id             TEXT    NOT NULL UNIQUE,
    stream         TEXT    NOT NULL,
    seq            INTEGER NOT NULL,
    schema_version INTEGER NOT NULL,
    run_id         TEXT,
    trace_id       TEXT,
    span_id        TEXT,
    ts             TEXT    NOT NULL,
    type           TEXT    NOT NULL,
    tenant         TEXT    NOT NULL,
    actor          TEXT    NOT NULL,
    tool           TEXT,
    payload_hash   TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    payload        TEXT,
    salt           TEXT,
    UNIQUE (stream, seq)
  ) STRICT;
  CREATE INDEX custody_events_run_id   ON custody_events (run_id, pos) WHERE run_id IS NOT NULL;
  CREATE INDEX custody_events_trace_id ON custody_events (trace_id, pos) WHERE trace_id IS NOT NULL;
  CREATE INDEX custody_events_tenant   ON custody_events (tenant, pos);
  CREATE INDEX custody_events_type     ON custody_events (type, pos);
  CREATE INDEX custody_events_actor    ON custody_events (actor, pos);
  CREATE INDEX custody_events_tool     ON custody_events (tool, pos) WHERE tool IS NOT NULL;
  CREATE INDEX custody_events_ts       ON custody_events (ts);

  -- Defence in depth only: anyone with the file can drop these. Verification is the proof.
  CREATE TRIGGER custody_events_no_delete BEFORE DELETE ON custody_events
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;
  CREATE TRIGGER custody_events_no_rewrite
  BEFORE UPDATE OF pos, id, stream, seq, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor,
                   payload_hash, prev_hash, hash ON custody_events
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;
  CREATE TRIGGER custody_events_erase_only BEFORE UPDATE OF payload, salt, tool ON custody_events
  WHEN NEW.payload IS NOT NULL OR NEW.salt IS NOT NULL OR NEW.tool IS NOT NULL
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY}'); END;

  CREATE TABLE custody_approvals (
    id         TEXT NOT NULL PRIMARY KEY,
    tenant     TEXT NOT NULL,
    run_id     TEXT NOT NULL,
    status     TEXT NOT NULL,
    request    TEXT NOT NULL
  ) STRICT;
  CREATE INDEX custody_approvals_tenant ON custody_approvals (tenant);
  CREATE INDEX custody_approvals_run_id ON custody_approvals (run_id);
  CREATE INDEX custody_approvals_status ON custody_approvals (status);

  CREATE TABLE custody_idempotency (
    tenant           TEXT    NOT NULL,
    key              TEXT    NOT NULL,
    state            TEXT    NOT NULL CHECK (state IN ('claimed', 'completed')),
    fingerprint      TEXT    NOT NULL,
    call_id          TEXT    NOT NULL,
    lease_expires_at INTEGER,
    outcome          TEXT,
    completed_at     INTEGER,
    expires_at       INTEGER,
    PRIMARY KEY (tenant, key)
  ) STRICT, WITHOUT ROWID;
  `,
  // 2: checkpoints kept beside the events, append-only as well.
  `
  CREATE TABLE custody_checkpoints (
    pos        INTEGER PRIMARY KEY,
    created_at TEXT NOT NULL,
    root       TEXT NOT NULL,
    checkpoint TEXT NOT NULL
  ) STRICT;
  CREATE TRIGGER custody_checkpoints_no_delete BEFORE DELETE ON custody_checkpoints
  BEGIN SELECT RAISE(ABORT, 'custody: checkpoints are append-only'); END;
  CREATE TRIGGER custody_checkpoints_no_update BEFORE UPDATE ON custody_checkpoints
  BEGIN SELECT RAISE(ABORT, 'custody: checkpoints are append-only'); END;
  `,
  // 3: retention. DELETE stays refused, except for the streams named in custody_prune_grants:
  // deleteStreams() fills it, deletes and empties it inside one transaction, so a grant is never
  // committed and no other connection ever sees one.
  `
  CREATE TABLE custody_prune_grants (
    stream TEXT NOT NULL PRIMARY KEY
  ) STRICT, WITHOUT ROWID;
  DROP TRIGGER custody_events_no_delete;
  CREATE TRIGGER custody_events_no_delete BEFORE DELETE ON custody_events
  WHEN NOT EXISTS (SELECT 1 FROM custody_prune_grants WHERE stream = OLD.stream)
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_V3}'); END;
  `,
  // 4: the outcome of each event (payload.status ?? payload.outcome ?? payload.effect), indexed
  // for the outcome filter, filled in for the events already stored, and erased with the payload.
  `
  ALTER TABLE custody_events ADD COLUMN outcome TEXT;
  UPDATE custody_events SET outcome = CASE
    ${OUTCOME_SQL}
  END
  WHERE payload IS NOT NULL;
  CREATE INDEX custody_events_outcome ON custody_events (outcome, pos) WHERE outcome IS NOT NULL;
  DROP TRIGGER custody_events_erase_only;
  CREATE TRIGGER custody_events_erase_only BEFORE UPDATE OF payload, salt, tool, outcome ON custody_events
  WHEN NEW.payload IS NOT NULL OR NEW.salt IS NOT NULL OR NEW.tool IS NOT NULL OR NEW.outcome IS NOT NULL
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_V4}'); END;
  `,
  // 5: the grant table is gone (a plain INSERT into it let any connection's DELETE through). The
  // triggers ask functions that only a Custody connection registers, and that answer yes only for
  // the streams or the event its own deleteStreams / erasePayload is deleting or erasing right
  // then, after checking legal holds and the operator record inside the same transaction. Any
  // other connection gets "no such function". Grants committed by someone else go with the table.
  `
  DROP TRIGGER custody_events_no_delete;
  DROP TABLE custody_prune_grants;
  CREATE TRIGGER custody_events_no_delete BEFORE DELETE ON custody_events
  WHEN custody_may_delete_stream(OLD.stream) IS NOT 1
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_V5}'); END;
  DROP TRIGGER custody_events_erase_only;
  CREATE TRIGGER custody_events_erase_only BEFORE UPDATE OF payload, salt, tool, outcome ON custody_events
  WHEN NEW.payload IS NOT NULL OR NEW.salt IS NOT NULL OR NEW.tool IS NOT NULL OR NEW.outcome IS NOT NULL
    OR custody_may_erase_event(OLD.id) IS NOT 1
  BEGIN SELECT RAISE(ABORT, '${APPEND_ONLY_V5}'); END;
  `,
];

/** The version of the SQLite schema this package writes (the file's `user_version`): the number of migrations. */
export const SQLITE_SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings the database to {@link SQLITE_SCHEMA_VERSION} in one immediate transaction, so two processes
 * opening a new file at once cannot both migrate it. Refuses a file from a newer version.
 */
export function migrate(db: SqliteDatabase, path: string): void {
  db.exec('BEGIN IMMEDIATE');
  try {
    const current = db.pragma('user_version', { simple: true }) as number;
    if (current > SQLITE_SCHEMA_VERSION) {
      throw new CustodyError(
        'CUSTODY_STORE_ERROR',
        `the SQLite database ${path} has schema version ${current}, newer than this @custody/store-sqlite ` +
          `understands (${SQLITE_SCHEMA_VERSION}); upgrade @custody/store-sqlite`,
        { details: { path, schemaVersion: current, supported: SQLITE_SCHEMA_VERSION } },
      );
    }
    for (let version = current; version < SQLITE_SCHEMA_VERSION; version++) db.exec(MIGRATIONS[version]!);
    if (current !== SQLITE_SCHEMA_VERSION) db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION}`);
    db.exec('COMMIT');
  } catch (error) {
    if (db.inTransaction) db.exec('ROLLBACK');
    throw error;
  }
}
