import { CustodyError } from '@custody/core';
import { type PostgresPool, storeError, throwIfAborted, withTransaction } from './database.js';
import { checkIdentifier, quoteIdentifier, type SchemaNames, schemaNames } from './schema.js';

/** One schema change, applied once per schema and recorded in `schema_migrations`. */
export interface PostgresMigration {
  readonly version: number;
  readonly name: string;
  /** The statements, schema-qualified; run in one transaction. */
  readonly sql: string;
}

/** Options for `stores.migrate()`. */
export interface PostgresMigrateOptions {
  /**
   * A role the application connects as. When given, `migrate()` grants it the least it needs:
   * `SELECT, INSERT` on the ledger plus `UPDATE` of the erasable columns only (so it cannot
   * rewrite an envelope or delete an event, even without the trigger), and read-write on the
   * approval and idempotency tables. Run `migrate()` itself as the schema owner.
   */
  readonly appRole?: string;
  /**
   * A role allowed to prune (retention: `deleteStreams`, which core's `createLedger().prune`
   * calls). It gets what `appRole` gets, plus `EXECUTE` on the retention function — the only way
   * to delete events, and only whole streams. It may be the same role as `appRole`; any other
   * `appRole` has that `EXECUTE` revoked. Without it, only the schema owner can prune.
   */
  readonly pruneRole?: string;
  readonly signal?: AbortSignal;
}

// Classid of the advisory lock that serialises migrations; the objid is a hash of the schema name,
// so migrating two schemas never waits on each other.
const MIGRATION_LOCK_CLASS = 0x63757374; // "cust"

function ledgerSql(n: SchemaNames): string {
  return `
CREATE TABLE ${n.ledgerEvents} (
  -- Append order. Assigned at insert, so it becomes visible in commit order, not in this order:
  -- see tail() for a cursor that never skips a late commit.
  position bigint GENERATED ALWAYS AS IDENTITY,
  -- The writing transaction, for commit-order reads (tail()).
  tx_id xid8 NOT NULL DEFAULT pg_current_xact_id(),
  stream text NOT NULL,
  seq bigint NOT NULL CHECK (seq >= 0),
  id text NOT NULL,
  schema_version integer NOT NULL,
  run_id text,
  trace_id text,
  span_id text,
  -- Kept as the exact text that was hashed; compared with COLLATE "C" (byte order).
  ts text NOT NULL,
  type text NOT NULL,
  tenant text NOT NULL,
  actor text NOT NULL,
  -- payload.tool, copied out for the tool filter; erased with the payload.
  tool text,
  payload_hash text NOT NULL,
  prev_hash text NOT NULL,
  hash text NOT NULL,
  -- The payload's RFC 8785 canonical JSON, byte for byte (never jsonb: it reorders keys).
  payload bytea,
  salt text,
  CONSTRAINT ledger_events_pkey PRIMARY KEY (stream, seq),
  CONSTRAINT ledger_events_id_key UNIQUE (id),
  CONSTRAINT ledger_events_position_key UNIQUE (position)
);
CREATE INDEX ledger_events_run_idx ON ${n.ledgerEvents} (run_id, position);
CREATE INDEX ledger_events_tenant_idx ON ${n.ledgerEvents} (tenant, position);
CREATE INDEX ledger_events_commit_idx ON ${n.ledgerEvents} (tx_id, position);

-- Defence in depth, not proof (a superuser can disable triggers; verification is the proof):
-- rows are never deleted, and the only update allowed is the erasure of payload, salt and tool.
CREATE FUNCTION ${n.ledgerGuard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.payload IS NULL AND NEW.salt IS NULL AND NEW.tool IS NULL
       AND (to_jsonb(NEW) - 'payload' - 'salt' - 'tool') = (to_jsonb(OLD) - 'payload' - 'salt' - 'tool') THEN
      RETURN NEW;
    END IF;
  END IF;
  RAISE EXCEPTION '[custody] the ledger is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING HINT = 'The only change allowed is erasing a payload: set payload, salt and tool to NULL together.';
END
$guard$;
CREATE TRIGGER ledger_events_append_only BEFORE UPDATE OR DELETE ON ${n.ledgerEvents}
  FOR EACH ROW EXECUTE FUNCTION ${n.ledgerGuard}();
CREATE TRIGGER ledger_events_no_truncate BEFORE TRUNCATE ON ${n.ledgerEvents}
  FOR EACH STATEMENT EXECUTE FUNCTION ${n.ledgerGuard}();
REVOKE UPDATE, DELETE, TRUNCATE ON ${n.ledgerEvents} FROM PUBLIC;

CREATE TABLE ${n.approvalRequests} (
  ordinal bigint GENERATED ALWAYS AS IDENTITY,
  id text PRIMARY KEY,
  tenant text NOT NULL,
  run_id text NOT NULL,
  status text NOT NULL,
  created_at text NOT NULL,
  expires_at text NOT NULL,
  -- The whole request as JSON text, returned as stored.
  request text NOT NULL,
  CONSTRAINT approval_requests_ordinal_key UNIQUE (ordinal)
);
CREATE INDEX approval_requests_tenant_idx ON ${n.approvalRequests} (tenant, ordinal);
CREATE INDEX approval_requests_run_idx ON ${n.approvalRequests} (run_id, ordinal);

CREATE TABLE ${n.idempotencyKeys} (
  tenant text NOT NULL,
  key text NOT NULL,
  state text NOT NULL CHECK (state IN ('claimed', 'completed')),
  fingerprint text NOT NULL,
  call_id text NOT NULL,
  -- Epoch milliseconds on the runtime's clock (not the database's), as the port defines them.
  lease_expires_at bigint,
  outcome text,
  completed_at bigint,
  expires_at bigint,
  PRIMARY KEY (tenant, key)
);
`;
}

function checkpointsSql(n: SchemaNames): string {
  return `
CREATE TABLE ${n.ledgerCheckpoints} (
  position bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  created_at text NOT NULL,
  -- The checkpoint's canonical JSON, byte for byte: its signature covers canonical bytes.
  checkpoint bytea NOT NULL
);

-- Checkpoints are the commitments that catch a rewritten ledger: never changed, never removed.
CREATE FUNCTION ${n.checkpointGuard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  RAISE EXCEPTION '[custody] ledger checkpoints are append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME;
END
$guard$;
CREATE TRIGGER ledger_checkpoints_append_only BEFORE UPDATE OR DELETE ON ${n.ledgerCheckpoints}
  FOR EACH ROW EXECUTE FUNCTION ${n.checkpointGuard}();
CREATE TRIGGER ledger_checkpoints_no_truncate BEFORE TRUNCATE ON ${n.ledgerCheckpoints}
  FOR EACH STATEMENT EXECUTE FUNCTION ${n.checkpointGuard}();
REVOKE UPDATE, DELETE, TRUNCATE ON ${n.ledgerCheckpoints} FROM PUBLIC;
`;
}

/** The guard's DELETE branch: allowed only while the retention function runs. */
const PRUNE_BRANCH = `
  ELSIF TG_OP = 'DELETE' THEN
    -- Retention: ledger_delete_streams() sets this for its own DELETE, inside its transaction,
    -- and clears it again. Every other DELETE (and every TRUNCATE) is refused.
    IF current_setting('custody.allow_prune', true) = 'on' THEN
      RETURN OLD;
    END IF;`;

function retentionSql(n: SchemaNames): string {
  return `
CREATE OR REPLACE FUNCTION ${n.ledgerGuard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.payload IS NULL AND NEW.salt IS NULL AND NEW.tool IS NULL
       AND (to_jsonb(NEW) - 'payload' - 'salt' - 'tool') = (to_jsonb(OLD) - 'payload' - 'salt' - 'tool') THEN
      RETURN NEW;
    END IF;${PRUNE_BRANCH}
  END IF;
  RAISE EXCEPTION '[custody] the ledger is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING HINT = 'The only changes allowed are erasing a payload (payload, salt and tool set to NULL together) and retention through ledger_delete_streams().';
END
$guard$;

-- The one way to delete events: whole streams, for retention. SECURITY DEFINER, so a role that
-- may prune needs EXECUTE on this function, never DELETE on the table.
CREATE FUNCTION ${n.ledgerDeleteStreams}(streams text[]) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $prune$
DECLARE
  deleted bigint;
BEGIN
  PERFORM set_config('custody.allow_prune', 'on', true);
  DELETE FROM ${n.ledgerEvents} WHERE stream = ANY (streams);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('custody.allow_prune', 'off', true);
  RETURN deleted;
END
$prune$;
REVOKE ALL ON FUNCTION ${n.ledgerDeleteStreams}(text[]) FROM PUBLIC;
`;
}

function outcomeSql(n: SchemaNames): string {
  return `
-- payload.status ?? payload.outcome ?? payload.effect, when a string: the outcome filter's column.
ALTER TABLE ${n.ledgerEvents} ADD COLUMN outcome text;
-- The events already stored get theirs too, as append computes it. PostgreSQL's json operators
-- refuse a whole document that holds \\u0000 (or a lone surrogate) anywhere, so U+0000 is marked
-- first (an outcome holding it stays NULL, as at append: text cannot hold it) and a payload json
-- still cannot read gets no outcome rather than failing the migration.
CREATE FUNCTION pg_temp.custody_outcome(payload bytea) RETURNS text LANGUAGE plpgsql AS $outcome$
DECLARE
  j json;
  v json;
  key text;
BEGIN
  j := replace(convert_from(payload, 'UTF8'), '\\u0000', '\\ufffd')::json;
  FOREACH key IN ARRAY ARRAY['status', 'outcome', 'effect'] LOOP
    v := j -> key;
    IF v IS NOT NULL AND json_typeof(v) <> 'null' THEN
      IF json_typeof(v) = 'string' AND strpos(v::text, '\\ufffd') = 0 THEN
        RETURN v #>> '{}';
      END IF;
      RETURN NULL;
    END IF;
  END LOOP;
  RETURN NULL;
EXCEPTION WHEN others THEN
  RETURN NULL;
END
$outcome$;
-- The guard would refuse this UPDATE: it is off for it, inside this migration's transaction.
ALTER TABLE ${n.ledgerEvents} DISABLE TRIGGER ledger_events_append_only;
UPDATE ${n.ledgerEvents} SET outcome = pg_temp.custody_outcome(payload) WHERE payload IS NOT NULL;
ALTER TABLE ${n.ledgerEvents} ENABLE TRIGGER ledger_events_append_only;
DROP FUNCTION pg_temp.custody_outcome(bytea);
CREATE INDEX ledger_events_outcome_idx ON ${n.ledgerEvents} (outcome, position) WHERE outcome IS NOT NULL;

-- Erasing a payload now clears its outcome too.
CREATE OR REPLACE FUNCTION ${n.ledgerGuard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.payload IS NULL AND NEW.salt IS NULL AND NEW.tool IS NULL AND NEW.outcome IS NULL
       AND (to_jsonb(NEW) - 'payload' - 'salt' - 'tool' - 'outcome')
         = (to_jsonb(OLD) - 'payload' - 'salt' - 'tool' - 'outcome') THEN
      RETURN NEW;
    END IF;${PRUNE_BRANCH}
  END IF;
  RAISE EXCEPTION '[custody] the ledger is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING HINT = 'The only changes allowed are erasing a payload (payload, salt, tool and outcome set to NULL together) and retention through ledger_delete_streams().';
END
$guard$;

-- Roles that may erase payloads may now erase the outcome with them.
DO $grants$
DECLARE
  grantee text;
BEGIN
  FOR grantee IN
    SELECT DISTINCT r.rolname
      FROM pg_attribute a
      CROSS JOIN LATERAL aclexplode(a.attacl) acl
      JOIN pg_roles r ON r.oid = acl.grantee
     WHERE a.attrelid = '${n.ledgerEvents}'::regclass AND a.attname = 'payload' AND acl.privilege_type = 'UPDATE'
  LOOP
    EXECUTE format('GRANT UPDATE (outcome) ON ${n.ledgerEvents} TO %I', grantee);
  END LOOP;
END
$grants$;
`;
}

/**
 * Every migration, in order, for `schema`: the SQL `migrate()` runs. Use it to apply the schema
 * with your own migration tool instead (then insert the versions into `schema_migrations` too, or
 * never call `migrate()`).
 *
 * @example
 * ```ts
 * for (const m of postgresMigrations('custody')) console.log(`-- ${m.version} ${m.name}\n${m.sql}`);
 * ```
 */
export function postgresMigrations(schema: string): readonly PostgresMigration[] {
  const names = schemaNames(checkIdentifier(schema, 'schema'));
  return [
    { version: 1, name: 'ledger, approvals and idempotency', sql: ledgerSql(names) },
    { version: 2, name: 'ledger checkpoints', sql: checkpointsSql(names) },
    { version: 3, name: 'ledger retention (deleteStreams)', sql: retentionSql(names) },
    { version: 4, name: 'ledger outcome column', sql: outcomeSql(names) },
  ];
}

/**
 * Brings `schema` up to date. Safe to run from every app instance at start-up, at the same time:
 * a transaction-scoped advisory lock serialises the runs, each applies only what is missing, and
 * DDL is transactional, so a failed migration leaves nothing half-done.
 */
export async function migrate(
  pool: PostgresPool,
  schema: string,
  options: PostgresMigrateOptions = {},
): Promise<void> {
  throwIfAborted(options.signal, 'migrate');
  const appRole =
    options.appRole === undefined ? undefined : checkIdentifier(options.appRole, 'migrate appRole');
  const pruneRole =
    options.pruneRole === undefined ? undefined : checkIdentifier(options.pruneRole, 'migrate pruneRole');
  const names = schemaNames(schema);
  const migrations = postgresMigrations(schema);
  try {
    await withTransaction(pool, async (db) => {
      await db.query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [MIGRATION_LOCK_CLASS, schema]);
      // Checked first: CREATE SCHEMA IF NOT EXISTS would demand the CREATE privilege even when
      // the schema already exists (a DBA may have created it for a less privileged owner).
      const exists = await db.query('SELECT 1 FROM pg_namespace WHERE nspname = $1', [schema]);
      if (exists.rows.length === 0) await db.query(`CREATE SCHEMA ${names.quotedSchema}`);
      await db.query(
        `CREATE TABLE IF NOT EXISTS ${names.migrations} (
          version integer PRIMARY KEY,
          name text NOT NULL,
          applied_at timestamptz NOT NULL DEFAULT now()
        )`,
      );
      const applied = await db.query(`SELECT version FROM ${names.migrations}`);
      const done = new Set(applied.rows.map((row) => Number(row.version)));
      const latest = migrations[migrations.length - 1]!.version;
      for (const version of done) {
        if (version > latest) {
          throw new CustodyError(
            'CUSTODY_STORE_ERROR',
            `schema "${schema}" is at migration ${version}, newer than this @custody/store-postgres knows (${latest}): upgrade the package`,
            { details: { schema, version, latest } },
          );
        }
      }
      for (const migration of migrations) {
        if (done.has(migration.version)) continue;
        await db.query(migration.sql);
        await db.query(`INSERT INTO ${names.migrations} (version, name) VALUES ($1, $2)`, [
          migration.version,
          migration.name,
        ]);
      }
      if (appRole !== undefined) {
        await grant(db, names, quoteIdentifier(appRole));
        if (appRole !== pruneRole) {
          await db.query(
            `REVOKE EXECUTE ON FUNCTION ${names.ledgerDeleteStreams}(text[]) FROM ${quoteIdentifier(appRole)}`,
          );
        }
      }
      if (pruneRole !== undefined) {
        await grant(db, names, quoteIdentifier(pruneRole));
        await db.query(
          `GRANT EXECUTE ON FUNCTION ${names.ledgerDeleteStreams}(text[]) TO ${quoteIdentifier(pruneRole)}`,
        );
      }
    });
  } catch (error) {
    throw storeError(error, `migration of schema "${schema}"`, schema);
  }
}

async function grant(
  db: { query(text: string): Promise<unknown> },
  n: SchemaNames,
  role: string,
): Promise<void> {
  await db.query(`GRANT USAGE ON SCHEMA ${n.quotedSchema} TO ${role}`);
  await db.query(`GRANT SELECT ON ${n.migrations} TO ${role}`);
  await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${n.ledgerEvents} FROM ${role}`);
  await db.query(`GRANT SELECT, INSERT ON ${n.ledgerEvents} TO ${role}`);
  await db.query(`GRANT UPDATE (payload, salt, tool, outcome) ON ${n.ledgerEvents} TO ${role}`);
  await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${n.ledgerCheckpoints} FROM ${role}`);
  await db.query(`GRANT SELECT, INSERT ON ${n.ledgerCheckpoints} TO ${role}`);
  await db.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${n.approvalRequests}, ${n.idempotencyKeys} TO ${role}`,
  );
}
