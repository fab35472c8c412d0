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
   * `SELECT, INSERT` on the ledger and its checkpoints (no `UPDATE`, `DELETE` or `TRUNCATE`: it
   * can neither rewrite, delete nor erase an event, even without the trigger), and read-write on
   * the approval and idempotency tables. Run `migrate()` itself as the schema owner.
   */
  readonly appRole?: string;
  /**
   * A role allowed to prune and redact (core's `createLedger().prune` and `.redact`). It gets what
   * `appRole` gets, plus `EXECUTE` on `ledger_delete_streams()` and `ledger_erase_payload()` — the
   * only ways to delete events (whole streams) or null a payload, each checking legal holds and
   * the operator record inside the database. It may be the same role as `appRole`; any other
   * `appRole` has that `EXECUTE` revoked. Without it, only the schema owner can prune or redact.
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

/** Classid of the advisory locks that order a hold being appended and a deletion or an erasure. */
export const HOLD_LOCK_CLASS = 0x63757368; // "cush"

/** SQLSTATEs the guard functions raise, mapped to Custody error codes by the adapter. */
export const GUARD_STATES = {
  /** The run or tenant is under legal hold: CUSTODY_LEGAL_HOLD. */
  legalHold: 'CU001',
  /** No operator record (ledger.pruned / ledger.redacted) explains it: CUSTODY_STORE_ERROR. */
  noRecord: 'CU002',
  /** Called inside a REPEATABLE READ or SERIALIZABLE transaction. */
  isolation: 'CU003',
} as const;

/** The start of both guard functions: READ COMMITTED only, or a hold committed while they waited would be missed. */
function readCommittedOnly(fn: string): string {
  return `
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION USING ERRCODE = '${GUARD_STATES.isolation}',
      MESSAGE = '[custody] ${fn}() must run in a READ COMMITTED transaction, so that it sees a legal hold committed while it waited for its lock; call it outside a REPEATABLE READ or SERIALIZABLE transaction';
  END IF;`;
}

/** Takes the lock a hold being appended to `operator:<tenant>` shares, so the hold is either seen or waits. */
function lockOperatorStream(schema: string, tenant: string): string {
  return `PERFORM pg_advisory_xact_lock(${HOLD_LOCK_CLASS}, hashtext('${schema}.operator:' || ${tenant}));`;
}

function guardsSql(n: SchemaNames): string {
  const events = n.ledgerEvents;
  return String.raw`
-- Canonical JSON can hold \u0000, which jsonb cannot: a real escape (not an escaped backslash
-- followed by "u0000") becomes \ufffd first. Names compared here never hold U+0000 (text cannot).
CREATE FUNCTION ${n.ledgerPayloadJson}(payload bytea) RETURNS jsonb
  LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE SET search_path = pg_catalog, pg_temp AS $json$
  SELECT (CASE WHEN strpos(t, $nul$\u0000$nul$) = 0 THEN t
          ELSE regexp_replace(t, $re$(?<!\\)((?:\\\\)*)\\u0000$re$, $to$\1\\ufffd$to$, 'g') END)::jsonb
    FROM convert_from(payload, 'UTF8') AS t
$json$;
REVOKE ALL ON FUNCTION ${n.ledgerPayloadJson}(bytea) FROM PUBLIC;

-- The legal holds in force in a tenant, as core reads them from stream operator:<tenant>: for
-- each run id (payload.runId a string) and for the tenant (payload.runId null or missing), the
-- latest of ledger.hold_placed / ledger.hold_released decides. One row per hold in force: the
-- run id, or NULL for a tenant-wide hold.
CREATE FUNCTION ${n.ledgerLegalHolds}(of_tenant text) RETURNS TABLE (run_id text)
  LANGUAGE sql STABLE SET search_path = pg_catalog, pg_temp AS $holds$
  SELECT latest.run_id FROM (
    SELECT DISTINCT ON (h.key) h.key, h.run_id, h.type
      FROM (
        SELECT e.seq, e.type,
               CASE WHEN p.r IS NULL OR jsonb_typeof(p.r) = 'null' THEN ''
                    WHEN jsonb_typeof(p.r) = 'string' THEN 'run:' || (p.r #>> '{}') END AS key,
               CASE WHEN jsonb_typeof(p.r) = 'string' THEN p.r #>> '{}' END AS run_id
          FROM ${events} e
          CROSS JOIN LATERAL (SELECT ${n.ledgerPayloadJson}(e.payload) -> 'runId' AS r) p
         WHERE e.stream = 'operator:' || of_tenant
           AND e.type IN ('ledger.hold_placed', 'ledger.hold_released')
           AND e.payload IS NOT NULL
      ) h
     WHERE h.key IS NOT NULL
     ORDER BY h.key, h.seq DESC
  ) latest
  WHERE latest.type = 'ledger.hold_placed'
$holds$;
REVOKE ALL ON FUNCTION ${n.ledgerLegalHolds}(text) FROM PUBLIC;

-- A hold (or its release) being appended shares a lock on its operator stream until it commits;
-- a deletion or an erasure takes it exclusively before it reads the holds. So a hold is either
-- committed and seen, or waits until the deletion has committed: never missed in between.
CREATE FUNCTION ${n.ledgerHoldLock}() RETURNS trigger LANGUAGE plpgsql AS $lock$
BEGIN
  PERFORM pg_catalog.pg_advisory_xact_lock_shared(${HOLD_LOCK_CLASS}, pg_catalog.hashtext(TG_TABLE_SCHEMA || '.' || NEW.stream));
  RETURN NEW;
END
$lock$;
CREATE TRIGGER ledger_events_hold_lock BEFORE INSERT ON ${events}
  FOR EACH ROW WHEN (NEW.type IN ('ledger.hold_placed', 'ledger.hold_released'))
  EXECUTE FUNCTION ${n.ledgerHoldLock}();

-- Erasure is allowed only while ledger_erase_payload() erases, and only for the event it named.
CREATE OR REPLACE FUNCTION ${n.ledgerGuard}() RETURNS trigger LANGUAGE plpgsql AS $guard$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    IF NEW.payload IS NULL AND NEW.salt IS NULL AND NEW.tool IS NULL AND NEW.outcome IS NULL
       AND (to_jsonb(NEW) - 'payload' - 'salt' - 'tool' - 'outcome')
         = (to_jsonb(OLD) - 'payload' - 'salt' - 'tool' - 'outcome')
       AND current_setting('custody.allow_erase', true) = OLD.id THEN
      RETURN NEW;
    END IF;
  ELSIF TG_OP = 'DELETE' THEN
    IF current_setting('custody.allow_prune', true) = 'on' THEN
      RETURN OLD;
    END IF;
  END IF;
  RAISE EXCEPTION '[custody] the ledger is append-only: % on %.% is not allowed', TG_OP, TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING HINT = 'Only ledger_delete_streams() deletes (whole streams: createLedger().prune) and only ledger_erase_payload() erases a payload (createLedger().redact), both as migrate()''s pruneRole.';
END
$guard$;

-- Retention, now guarded where the deletion happens: every stream must be free of legal holds
-- and named at its exact head by a ledger.pruned record in operator:<its tenant>; otherwise
-- nothing is deleted.
CREATE OR REPLACE FUNCTION ${n.ledgerDeleteStreams}(streams text[]) RETURNS bigint
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $prune$
DECLARE
  tenants text[];
  locked text[] := '{}';
  t text;
  d_stream text[];
  d_seq bigint[];
  d_hash text[];
  d_tenant text[];
  d_run text[];
  held text[];
  named boolean[];
  hits bigint[];
  wanted bigint;
  wanted_heads jsonb;
  doc jsonb;
  rec record;
  i bigint;
  deleted bigint;
BEGIN${readCommittedOnly('ledger_delete_streams')}
  -- Lock the operator stream of every tenant involved (again if a stream of a new tenant appeared
  -- meanwhile) before reading what the checks depend on.
  LOOP
    SELECT array_agg(DISTINCT h.tenant ORDER BY h.tenant) INTO tenants
      FROM unnest(streams) AS s(stream)
      CROSS JOIN LATERAL (SELECT e.tenant FROM ${events} e WHERE e.stream = s.stream ORDER BY e.seq DESC LIMIT 1) h;
    EXIT WHEN tenants IS NULL OR tenants <@ locked;
    FOREACH t IN ARRAY tenants LOOP
      IF NOT t = ANY (locked) THEN
        ${lockOperatorStream(n.schema, 't')}
        locked := locked || t;
      END IF;
    END LOOP;
  END LOOP;
  IF tenants IS NULL THEN
    RETURN 0;
  END IF;

  -- The head of every stream that exists, in the order asked, each once.
  SELECT array_agg(s.stream ORDER BY s.ord), array_agg(h.seq ORDER BY s.ord), array_agg(h.hash ORDER BY s.ord),
         array_agg(h.tenant ORDER BY s.ord), array_agg(h.run_id ORDER BY s.ord)
    INTO d_stream, d_seq, d_hash, d_tenant, d_run
    FROM (SELECT u.stream, min(u.ord) AS ord FROM unnest(streams) WITH ORDINALITY AS u(stream, ord) GROUP BY u.stream) s
    CROSS JOIN LATERAL (
      SELECT e.seq, e.hash, e.tenant, e.run_id FROM ${events} e WHERE e.stream = s.stream ORDER BY e.seq DESC LIMIT 1
    ) h;

  WITH holds AS MATERIALIZED (
    SELECT x.tenant, l.run_id FROM (SELECT DISTINCT tenant FROM unnest(d_tenant) AS y(tenant)) x
    CROSS JOIN LATERAL ${n.ledgerLegalHolds}(x.tenant) l
  )
  SELECT array_agg(CASE
           WHEN EXISTS (SELECT 1 FROM holds WHERE holds.tenant = d.tenant AND holds.run_id IS NULL) THEN 'tenant'
           WHEN d.run_id IS NOT NULL AND EXISTS (SELECT 1 FROM holds WHERE holds.tenant = d.tenant AND holds.run_id = d.run_id) THEN 'run'
         END ORDER BY d.i)
    INTO held
    FROM unnest(d_tenant, d_run) WITH ORDINALITY AS d(tenant, run_id, i);

  -- The ledger.pruned records of each tenant, newest first, only as far back as needed: the one
  -- createLedger().prune has just appended usually names every stream. The heads wanted are a
  -- jsonb object keyed by stream (a lookup, not a scan, per entry of a record).
  named := array_fill(false, ARRAY[cardinality(d_stream)]);
  FOREACH t IN ARRAY tenants LOOP
    SELECT count(*), jsonb_object_agg(d.stream, jsonb_build_array(d.seq, d.hash, d.i))
      INTO wanted, wanted_heads
      FROM unnest(d_stream, d_seq, d_hash, d_tenant) WITH ORDINALITY AS d(stream, seq, hash, tenant, i)
     WHERE d.tenant = t;
    FOR rec IN
      SELECT e.payload FROM ${events} e
       WHERE e.stream = 'operator:' || t AND e.tenant = t AND e.type = 'ledger.pruned' AND e.payload IS NOT NULL
       ORDER BY e.seq DESC
    LOOP
      EXIT WHEN wanted = 0;
      doc := ${n.ledgerPayloadJson}(rec.payload);
      CONTINUE WHEN jsonb_typeof(doc -> 'streams') IS DISTINCT FROM 'array';
      SELECT array_agg(DISTINCT (wanted_heads -> (x.entry ->> 'stream') ->> 2)::bigint) INTO hits
        FROM jsonb_array_elements(doc -> 'streams') AS x(entry)
       WHERE jsonb_typeof(x.entry) = 'object' AND jsonb_typeof(x.entry -> 'stream') = 'string'
         AND wanted_heads -> (x.entry ->> 'stream') -> 0 = x.entry -> 'seq'
         AND wanted_heads -> (x.entry ->> 'stream') -> 1 = x.entry -> 'hash';
      IF hits IS NOT NULL THEN
        FOREACH i IN ARRAY hits LOOP
          IF NOT named[i] THEN
            named[i] := true;
            wanted := wanted - 1;
          END IF;
        END LOOP;
      END IF;
    END LOOP;
  END LOOP;

  FOR i IN 1 .. cardinality(d_stream) LOOP
    IF held[i] IS NOT NULL THEN
      RAISE EXCEPTION USING ERRCODE = '${GUARD_STATES.legalHold}',
        MESSAGE = format('[custody] stream %s cannot be deleted: %s is under legal hold; release the hold first (createLedger().releaseHold)',
          d_stream[i], CASE held[i] WHEN 'tenant' THEN format('tenant %s', d_tenant[i]) ELSE format('run %s of tenant %s', d_run[i], d_tenant[i]) END),
        DETAIL = jsonb_build_object('stream', d_stream[i], 'tenant', d_tenant[i], 'runId', d_run[i])::text;
    END IF;
    IF NOT named[i] THEN
      RAISE EXCEPTION USING ERRCODE = '${GUARD_STATES.noRecord}',
        MESSAGE = format('[custody] no ledger.pruned record names stream %s at its head seq %s; prune through createLedger().prune', d_stream[i], d_seq[i]),
        DETAIL = jsonb_build_object('stream', d_stream[i], 'seq', d_seq[i], 'hash', d_hash[i])::text;
    END IF;
  END LOOP;

  PERFORM set_config('custody.allow_prune', 'on', true);
  DELETE FROM ${events} WHERE stream = ANY (d_stream);
  GET DIAGNOSTICS deleted = ROW_COUNT;
  PERFORM set_config('custody.allow_prune', 'off', true);
  RETURN deleted;
END
$prune$;

-- The one way to null a payload: the event's run and tenant must be free of legal holds, and a
-- ledger.redacted record later in its stream must name its id and payload hash. Erasing an erased
-- event again answers true; an unknown id, false.
CREATE FUNCTION ${n.ledgerErasePayload}(event_id text) RETURNS boolean
  LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $erase$
DECLARE
  target record;
  hold text;
BEGIN${readCommittedOnly('ledger_erase_payload')}
  SELECT e.stream, e.seq, e.tenant, e.run_id, e.payload_hash INTO target FROM ${events} e WHERE e.id = event_id;
  IF NOT FOUND THEN
    RETURN false;
  END IF;
  ${lockOperatorStream(n.schema, 'target.tenant')}
  IF (SELECT e.payload IS NULL FROM ${events} e WHERE e.id = event_id) THEN
    RETURN true;
  END IF;
  SELECT CASE WHEN bool_or(l.run_id IS NULL) THEN 'tenant' WHEN bool_or(l.run_id = target.run_id) THEN 'run' END
    INTO hold FROM ${n.ledgerLegalHolds}(target.tenant) l;
  IF hold IS NOT NULL THEN
    RAISE EXCEPTION USING ERRCODE = '${GUARD_STATES.legalHold}',
      MESSAGE = format('[custody] event %s cannot be erased: %s is under legal hold; release the hold first (createLedger().releaseHold)',
        event_id, CASE hold WHEN 'tenant' THEN format('tenant %s', target.tenant) ELSE format('run %s of tenant %s', target.run_id, target.tenant) END),
      DETAIL = jsonb_build_object('eventId', event_id, 'tenant', target.tenant, 'runId', target.run_id)::text;
  END IF;
  IF NOT EXISTS (
    SELECT 1 FROM ${events} r
     CROSS JOIN LATERAL (SELECT ${n.ledgerPayloadJson}(r.payload) AS doc) p
     WHERE r.stream = target.stream AND r.seq > target.seq AND r.type = 'ledger.redacted' AND r.payload IS NOT NULL
       AND p.doc -> 'eventId' = to_jsonb(event_id) AND p.doc -> 'payloadHash' = to_jsonb(target.payload_hash)
  ) THEN
    RAISE EXCEPTION USING ERRCODE = '${GUARD_STATES.noRecord}',
      MESSAGE = format('[custody] no ledger.redacted record in stream %s names event %s with its payload hash; redact through createLedger().redact', target.stream, event_id),
      DETAIL = jsonb_build_object('eventId', event_id, 'stream', target.stream)::text;
  END IF;
  PERFORM set_config('custody.allow_erase', event_id, true);
  UPDATE ${events} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = event_id;
  PERFORM set_config('custody.allow_erase', '', true);
  RETURN true;
END
$erase$;
REVOKE ALL ON FUNCTION ${n.ledgerErasePayload}(text) FROM PUBLIC;

DO $grants$
DECLARE
  privilege record;
BEGIN
  -- Nobody updates events any more, not even the erasable columns: erasure is the function above.
  FOR privilege IN
    SELECT DISTINCT a.attname, r.rolname
      FROM pg_attribute a
      CROSS JOIN LATERAL aclexplode(a.attacl) acl
      JOIN pg_roles r ON r.oid = acl.grantee
     WHERE a.attrelid = '${events}'::regclass AND acl.privilege_type = 'UPDATE'
  LOOP
    EXECUTE format('REVOKE UPDATE (%I) ON ${events} FROM %I', privilege.attname, privilege.rolname);
  END LOOP;
  FOR privilege IN
    SELECT DISTINCT r.rolname
      FROM pg_class c
      CROSS JOIN LATERAL aclexplode(c.relacl) acl
      JOIN pg_roles r ON r.oid = acl.grantee
     WHERE c.oid = '${events}'::regclass AND acl.grantee <> c.relowner
       AND acl.privilege_type IN ('UPDATE', 'DELETE', 'TRUNCATE')
  LOOP
    EXECUTE format('REVOKE UPDATE, DELETE, TRUNCATE ON ${events} FROM %I', privilege.rolname);
  END LOOP;
  -- The roles that may prune may now redact; the others (the app role) no longer can.
  FOR privilege IN
    SELECT DISTINCT r.rolname
      FROM pg_proc p
      CROSS JOIN LATERAL aclexplode(p.proacl) acl
      JOIN pg_roles r ON r.oid = acl.grantee
     WHERE p.oid = '${n.ledgerDeleteStreams}(text[])'::regprocedure AND acl.grantee <> p.proowner
       AND acl.privilege_type = 'EXECUTE'
  LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION ${n.ledgerErasePayload}(text) TO %I', privilege.rolname);
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
    {
      version: 5,
      name: 'ledger guards: holds and operator records checked where events are deleted or erased',
      sql: guardsSql(names),
    },
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
      const privileged = [`${names.ledgerDeleteStreams}(text[])`, `${names.ledgerErasePayload}(text)`];
      if (appRole !== undefined) {
        await grant(db, names, quoteIdentifier(appRole));
        if (appRole !== pruneRole) {
          for (const fn of privileged) {
            await db.query(`REVOKE EXECUTE ON FUNCTION ${fn} FROM ${quoteIdentifier(appRole)}`);
          }
        }
      }
      if (pruneRole !== undefined) {
        await grant(db, names, quoteIdentifier(pruneRole));
        for (const fn of privileged) {
          await db.query(`GRANT EXECUTE ON FUNCTION ${fn} TO ${quoteIdentifier(pruneRole)}`);
        }
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
  // Granted before schema 5; erasure now runs only through ledger_erase_payload().
  await db.query(`REVOKE UPDATE (payload, salt, tool, outcome) ON ${n.ledgerEvents} FROM ${role}`);
  await db.query(`REVOKE UPDATE, DELETE, TRUNCATE ON ${n.ledgerCheckpoints} FROM ${role}`);
  await db.query(`GRANT SELECT, INSERT ON ${n.ledgerCheckpoints} TO ${role}`);
  await db.query(
    `GRANT SELECT, INSERT, UPDATE, DELETE ON ${n.approvalRequests}, ${n.idempotencyKeys} TO ${role}`,
  );
}
