import {
  type ChainHead,
  CustodyError,
  describeValue,
  type FullLedgerStore,
  GroupCommit,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerPage,
  type LedgerQuery,
  type LedgerStore,
  type Settled,
} from '@custody/core';
import { canonicalize, eventOutcome, eventToolName, GENESIS_HASH } from '@custody/core/ledger';
import { isUniqueViolation, type SqliteConnection, storeClosed, storeFailure } from './sqlite-connection.js';
import { SqliteDeletionGuards, type StoredHead, type StoredTarget } from './sqlite-deletion-guards.js';
import type { SqliteStatement } from './sqlite-driver.js';

/**
 * The SQLite ledger: the {@link LedgerStore} port with all its optional capabilities.
 * `deleteStreams` (retention; use `createLedger().prune`) and `erasePayload` (redaction; use
 * `createLedger().redact`) check, inside the transaction that deletes or erases, that no legal
 * hold covers the run or tenant and that the operator record explaining it is stored; only then
 * do the append-only triggers let that one DELETE or erasing UPDATE through. Both then checkpoint
 * the WAL, so the removed text is left in neither the file nor the WAL. `close` commits appends
 * still waiting for their group, then releases the database.
 */
export type SqliteLedgerStore = FullLedgerStore;

const DEFAULT_PAGE = 1000;

const COLUMNS =
  'pos, id, stream, seq, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, ' +
  'payload_hash, prev_hash, hash, payload, salt';

const INSERT =
  'INSERT INTO custody_events (id, stream, seq, schema_version, run_id, trace_id, span_id, ts, type, tenant, ' +
  'actor, tool, outcome, payload_hash, prev_hash, hash, payload, salt) ' +
  'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)';

/** The filters of {@link LedgerQuery} that compare one column for equality. */
const EQUALITY_FILTERS = [
  ['runId', 'run_id'],
  ['stream', 'stream'],
  ['traceId', 'trace_id'],
  ['tenant', 'tenant'],
  ['actor', 'actor'],
  ['tool', 'tool'],
  ['outcome', 'outcome'],
] as const;

interface EventRow {
  pos: number;
  id: string;
  stream: string;
  seq: number;
  schema_version: number;
  run_id: string | null;
  trace_id: string | null;
  span_id: string | null;
  ts: string;
  type: string;
  tenant: string;
  actor: string;
  payload_hash: string;
  prev_hash: string;
  hash: string;
  payload: string | null;
  salt: string | null;
}

/** An event checked and encoded before it joins a group, so the transaction only writes. */
export interface EncodedEvent {
  readonly event: LedgerEvent;
  readonly params: unknown[];
}

/**
 * One caller's write, waiting for its group's transaction: events checked and encoded, and for a
 * unit of work the other writes that commit with them (its idempotency change), applied right
 * after its events, so a conflict among them leaves `alongside` unapplied.
 */
export interface SqliteWrite<R = undefined> {
  readonly batch: readonly EncodedEvent[];
  readonly alongside?: () => R;
}

// Taken at load, so a test that installs fake timers later cannot stall every append.
const scheduleGroup: (callback: () => void) => unknown = globalThis.setImmediate;

/**
 * The ledger over one SQLite table, with group commit through core's {@link GroupCommit}: every
 * `append` and unit of work made before the event loop next turns joins one transaction (one
 * fsync). A group is written straight through; if one of its writes conflicts, that
 * transaction is rolled back and the group written again with a savepoint per write, so the
 * conflicting one is rolled back alone and the rest still commit. (Conflicts are rare, and
 * savepoints cost about a quarter of a busy group's time.) Each promise settles only after the
 * transaction committed. The write is synchronous, so a read first writes what is queued and
 * sees every acknowledged write.
 */
export class SqliteLedger implements SqliteLedgerStore {
  readonly specificationVersion = 'v1' as const;
  #connection: SqliteConnection | undefined;
  readonly #commits: GroupCommit<SqliteWrite<unknown>, unknown>;
  readonly #begin: SqliteStatement;
  readonly #commit: SqliteStatement;
  readonly #rollback: SqliteStatement;
  readonly #savepoint: SqliteStatement;
  readonly #releaseSavepoint: SqliteStatement;
  readonly #rollbackToSavepoint: SqliteStatement;
  readonly #insert: SqliteStatement;
  readonly #selectHead: SqliteStatement;
  readonly #selectHash: SqliteStatement;
  readonly #erase: SqliteStatement;
  readonly #selectTarget: SqliteStatement;
  readonly #selectStoredHead: SqliteStatement;
  readonly #deleteStreams: SqliteStatement;
  readonly #guards: SqliteDeletionGuards;
  /** A WAL checkpoint after an erasure or a deletion that a reader kept from finishing: retried at close. */
  #walDirty = false;
  readonly #selectHeads: SqliteStatement;
  readonly #insertCheckpoint: SqliteStatement;
  readonly #selectCheckpoints: SqliteStatement;

  constructor(connection: SqliteConnection) {
    this.#connection = connection.retain();
    const sql = (text: string) => connection.statement(text);
    this.#begin = sql('BEGIN IMMEDIATE');
    this.#commit = sql('COMMIT');
    this.#rollback = sql('ROLLBACK');
    this.#savepoint = sql('SAVEPOINT custody_append');
    this.#releaseSavepoint = sql('RELEASE custody_append');
    this.#rollbackToSavepoint = sql('ROLLBACK TO custody_append');
    this.#insert = sql(INSERT);
    this.#selectHead = sql('SELECT seq, hash FROM custody_events WHERE stream = ? ORDER BY seq DESC LIMIT 1');
    this.#selectHash = sql('SELECT hash FROM custody_events WHERE id = ?');
    this.#erase = sql(
      'UPDATE custody_events SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = ?',
    );
    this.#selectTarget = sql(
      'SELECT id, stream, seq, tenant, run_id, payload_hash, payload IS NULL AS erased FROM custody_events WHERE id = ?',
    );
    this.#selectStoredHead = sql(
      'SELECT stream, seq, hash, tenant, run_id FROM custody_events WHERE stream = ? ORDER BY seq DESC LIMIT 1',
    );
    // One statement shape for any number of streams: the names are bound as a JSON array.
    this.#deleteStreams = sql('DELETE FROM custody_events WHERE stream IN (SELECT value FROM json_each(?))');
    this.#guards = new SqliteDeletionGuards(connection);
    // SQLite returns the hash of the row that holds max(seq): a documented bare-column rule.
    this.#selectHeads = sql('SELECT stream, max(seq) AS seq, hash FROM custody_events GROUP BY stream');
    this.#insertCheckpoint = sql(
      'INSERT INTO custody_checkpoints (created_at, root, checkpoint) VALUES (?, ?, ?)',
    );
    this.#selectCheckpoints = sql('SELECT checkpoint FROM custody_checkpoints ORDER BY pos');
    this.#commits = new GroupCommit({
      write: (group) => this.#writeGroup(group),
      // The write is synchronous: no group is ever in flight while another forms, so no unit
      // waits on another's keys, and queue order is commit order.
      keysOf: () => [],
      schedule: scheduleGroup,
    });
  }

  append(events: readonly LedgerEvent[], options: { signal?: AbortSignal } = {}): Promise<void> {
    if (!this.#connection) return Promise.reject(storeClosed('ledger'));
    if (options.signal?.aborted) {
      return Promise.reject(
        new CustodyError('CUSTODY_ABORTED', 'append was aborted before it was written; nothing was stored', {
          cause: options.signal.reason,
        }),
      );
    }
    let batch: EncodedEvent[];
    try {
      batch = encodeBatch(events);
    } catch (error) {
      return Promise.reject(error);
    }
    if (batch.length === 0) return Promise.resolve();
    return this.#commits.submit({ batch }, options).then(() => undefined);
  }

  /**
   * Queues a write made of encoded events (from {@link encodeBatch}) and, optionally, other writes
   * that must commit in the same transaction; resolves with what `alongside` answered, once
   * committed. A conflict among the events rejects it alone, with `alongside` not applied. For
   * the unit-of-work store over the same connection.
   */
  commitWrite<R>(write: SqliteWrite<R>, options: { signal?: AbortSignal } = {}): Promise<R> {
    if (!this.#connection) return Promise.reject(storeClosed('ledger'));
    return this.#commits.submit(write, options) as Promise<R>;
  }

  async head(stream: string): Promise<ChainHead | undefined> {
    this.#open();
    this.#commits.startPending();
    const row = this.#selectHead.get(stream) as ChainHead | undefined;
    return row && { seq: row.seq, hash: row.hash };
  }

  async read(query: LedgerQuery = {}): Promise<LedgerPage> {
    const connection = this.#open();
    this.#commits.startPending();
    const { sql, params, limit } = compileQuery(query);
    let rows: EventRow[];
    try {
      rows = connection.statement(sql).all(...params) as EventRow[];
    } catch (error) {
      throw storeFailure('read the ledger', error);
    }
    if (rows.length <= limit) return { events: rows.map(rowToEvent) };
    const events = rows.slice(0, limit).map(rowToEvent);
    return { events, nextCursor: String(rows[limit - 1]!.pos) };
  }

  async erasePayload(eventId: string): Promise<boolean> {
    const connection = this.#open();
    this.#commits.startPending();
    let erased: boolean;
    try {
      erased = this.#transaction(() => {
        const target = this.#selectTarget.get(eventId) as StoredTarget | undefined;
        if (!target) return false;
        // Erasing an erased event again is harmless and needs no record.
        if (target.erased === 1) return true;
        const refusal = this.#guards.erasureRefusal(target);
        if (refusal) throw refusal;
        connection.erasing(eventId, () => this.#erase.run(eventId));
        return true;
      });
    } catch (error) {
      throw storeFailure(`erase the payload of event ${eventId}`, error);
    }
    if (erased) this.#scrubWal();
    return erased;
  }

  async deleteStreams(streams: readonly string[]): Promise<number> {
    const connection = this.#open();
    if (!Array.isArray(streams) || !streams.every((stream) => typeof stream === 'string')) {
      throw invalid(`deleteStreams expects an array of stream names, got ${describeValue(streams)}`);
    }
    const unique = [...new Set(streams)];
    if (unique.length === 0) return 0;
    this.#commits.startPending();
    let deleted: number;
    try {
      deleted = this.#transaction(() => {
        const heads = unique
          .map((stream) => this.#selectStoredHead.get(stream) as StoredHead | undefined)
          .filter((head) => head !== undefined);
        if (heads.length === 0) return 0;
        // Every stream is checked before any is deleted: a refusal deletes nothing.
        const refusal = this.#guards.deletionRefusal(heads);
        if (refusal) throw refusal;
        const doomed = heads.map((head) => head.stream);
        return connection.deleting(doomed, () => this.#deleteStreams.run(JSON.stringify(doomed)).changes);
      });
    } catch (error) {
      throw storeFailure(`delete ${unique.length} stream(s)`, error);
    }
    if (deleted > 0) this.#scrubWal();
    return deleted;
  }

  /**
   * Runs `work` in one immediate transaction, rolled back if it throws: the write lock is taken
   * before the first read, so what `work` reads (heads, guards) cannot change before it commits.
   */
  #transaction<T>(work: () => T): T {
    this.#begin.run();
    try {
      const result = work();
      this.#commit.run();
      return result;
    } catch (error) {
      if (this.#connection?.db.inTransaction) this.#rollback.run();
      throw error;
    }
  }

  /**
   * Moves every page out of the WAL into the file (where secure_delete already zeroed the freed
   * space) and truncates the WAL, so the removed text survives in neither. A reader holding an
   * older snapshot (another process) can keep it from finishing: the removal is committed anyway,
   * and the checkpoint is tried again at the next erasure, deletion or close.
   */
  #scrubWal(): void {
    try {
      this.#walDirty = this.#connection?.checkpointWal().busy ?? false;
    } catch {
      // The erasure is committed; the next attempt (or close) tries the checkpoint again.
      this.#walDirty = true;
    }
  }

  async heads(): Promise<Record<string, ChainHead>> {
    this.#open();
    this.#commits.startPending();
    const heads: Record<string, ChainHead> = {};
    try {
      for (const row of this.#selectHeads.all() as { stream: string; seq: number; hash: string }[]) {
        heads[row.stream] = { seq: row.seq, hash: row.hash };
      }
    } catch (error) {
      throw storeFailure('read the stream heads', error);
    }
    return heads;
  }

  async appendCheckpoint(checkpoint: LedgerCheckpoint): Promise<void> {
    this.#open();
    if (typeof checkpoint?.root !== 'string' || typeof checkpoint.createdAt !== 'string') {
      throw invalid(`appendCheckpoint expects a ledger checkpoint, got ${describeValue(checkpoint)}`);
    }
    const json = canonicalize(checkpoint);
    this.#commits.startPending();
    try {
      this.#insertCheckpoint.run(checkpoint.createdAt, checkpoint.root, json);
    } catch (error) {
      throw storeFailure('store a checkpoint', error);
    }
  }

  async listCheckpoints(): Promise<LedgerCheckpoint[]> {
    this.#open();
    try {
      const rows = this.#selectCheckpoints.all() as { checkpoint: string }[];
      return rows.map((row) => JSON.parse(row.checkpoint) as LedgerCheckpoint);
    } catch (error) {
      throw storeFailure('read the checkpoints', error);
    }
  }

  async close(): Promise<void> {
    if (!this.#connection) return;
    this.#commits.startPending();
    if (this.#walDirty) this.#scrubWal();
    this.#connection.release();
    this.#connection = undefined;
  }

  #open(): SqliteConnection {
    if (!this.#connection) throw storeClosed('ledger');
    return this.#connection;
  }

  /**
   * Writes one group in one transaction. Synchronous: nothing interleaves with it. The group is
   * written straight through first; only when one of its writes conflicts is that transaction
   * rolled back and the group written again with a savepoint per write, so the conflicting one
   * is rolled back alone. Conflicts are rare (another writer on the same stream), and savepoints
   * cost about a quarter of a busy group's time, so the usual group pays for none.
   */
  #writeGroup(group: readonly SqliteWrite<unknown>[]): Settled<unknown>[] {
    try {
      if (group.length === 1)
        return [{ ok: true, value: this.#transaction(() => this.#writeOne(group[0]!)) }];
      try {
        const values = this.#transaction(() => group.map((write) => this.#writeOne(write)));
        return values.map((value) => ({ ok: true, value }));
      } catch (error) {
        // A write of the group conflicted and nothing was written: again, one savepoint each.
        if (!CustodyError.isInstance(error)) throw error;
      }
      return this.#transaction(() => group.map((write) => this.#writeInSavepoint(write)));
    } catch (error) {
      // A lone caller's own conflict, or a failure of the whole transaction (disk full, I/O,
      // lock timeout): nothing of the group was written.
      if (CustodyError.isInstance(error)) throw error;
      throw new CustodyError(
        'CUSTODY_LEDGER_WRITE_FAILED',
        `SQLite could not commit ${group.length} write(s): ${error instanceof Error ? error.message : String(error)}; nothing was written`,
        { cause: error },
      );
    }
  }

  /** One caller's write inside the group: its own conflict is its answer, anything else aborts the group. */
  #writeInSavepoint(write: SqliteWrite<unknown>): Settled<unknown> {
    this.#savepoint.run();
    try {
      const value = this.#writeOne(write);
      this.#releaseSavepoint.run();
      return { ok: true, value };
    } catch (error) {
      if (!CustodyError.isInstance(error)) throw error;
      this.#rollbackToSavepoint.run();
      this.#releaseSavepoint.run();
      return { ok: false, error };
    }
  }

  #writeOne(write: SqliteWrite<unknown>): unknown {
    this.#insertBatch(write.batch);
    return write.alongside?.();
  }

  /** Checks each event against its stream's stored head and inserts it; same semantics as core's memory ledger. */
  #insertBatch(batch: readonly EncodedEvent[]): void {
    const heads = new Map<string, ChainHead>();
    for (const { event, params } of batch) {
      const head = heads.get(event.stream) ?? (this.#selectHead.get(event.stream) as ChainHead | undefined);
      const expectedSeq = head ? head.seq + 1 : 0;
      const expectedPrev = head ? head.hash : GENESIS_HASH;
      if (event.seq === expectedSeq && event.prevHash === expectedPrev) {
        try {
          this.#insert.run(...params);
        } catch (error) {
          if (isUniqueViolation(error))
            throw conflict(event, `event id ${event.id} is already used by another event`);
          throw error;
        }
        heads.set(event.stream, { seq: event.seq, hash: event.hash });
        continue;
      }
      const stored = this.#selectHash.get(event.id) as { hash: string } | undefined;
      if (stored?.hash === event.hash) continue; // already stored: re-appending is a no-op
      if (stored) throw conflict(event, `event ${event.id} is already stored with another hash`);
      throw conflict(
        event,
        `event ${event.id} does not extend stream ${event.stream}: expected seq ${expectedSeq}` +
          (event.seq === expectedSeq
            ? ` linked to ${expectedPrev}, got prevHash ${event.prevHash}`
            : `, got ${event.seq}`),
      );
    }
  }
}

function conflict(event: LedgerEvent, message: string): CustodyError {
  return new CustodyError('CUSTODY_LEDGER_CONFLICT', message, {
    details: { stream: event.stream, seq: event.seq, eventId: event.id },
  });
}

function invalid(message: string, details: Record<string, unknown> = {}): CustodyError {
  return new CustodyError('CUSTODY_INVALID_ARGUMENT', message, { details });
}

const STRING_FIELDS = [
  'id',
  'stream',
  'ts',
  'type',
  'tenant',
  'actor',
  'payloadHash',
  'prevHash',
  'hash',
] as const;
const NULLABLE_FIELDS = ['runId', 'traceId', 'spanId', 'salt'] as const;

/** Checks the shape of every event and encodes its row: the payload as canonical JSON text. */
export function encodeBatch(events: readonly LedgerEvent[]): EncodedEvent[] {
  if (!Array.isArray(events))
    throw invalid(`append expects an array of sealed events, got ${describeValue(events)}`);
  return events.map((event, index) => {
    const problem = shapeProblem(event);
    if (problem) throw invalid(`cannot append event ${index} of the batch: ${problem}`, { index });
    // Stored as the exact canonical text that was hashed, so a read gives the same bytes back.
    // SQL NULL only for an erased event (payload and salt both null); a null payload is 'null'.
    const payload = event.payload === null && event.salt === null ? null : canonicalize(event.payload);
    return {
      event,
      params: [
        event.id,
        event.stream,
        event.seq,
        event.schemaVersion,
        event.runId,
        event.traceId,
        event.spanId,
        event.ts,
        event.type,
        event.tenant,
        event.actor,
        eventToolName(event) ?? null,
        eventOutcome(event) ?? null,
        event.payloadHash,
        event.prevHash,
        event.hash,
        payload,
        event.salt,
      ],
    };
  });
}

/**
 * The outcome an event records, for the indexed `outcome` column: `payload.status ??
 * payload.outcome ?? payload.effect`, when that is a string. (Core's `matchesLedgerQuery` reads it
 * the same way once `LedgerQuery.outcome` lands there.)
 */
function shapeProblem(event: LedgerEvent): string | undefined {
  if (typeof event !== 'object' || event === null)
    return `expected a sealed event, got ${describeValue(event)}`;
  for (const field of STRING_FIELDS) {
    if (typeof event[field] !== 'string')
      return `${field} must be a string, got ${describeValue(event[field])}`;
  }
  for (const field of NULLABLE_FIELDS) {
    const value = event[field];
    if (value !== null && typeof value !== 'string')
      return `${field} must be a string or null, got ${describeValue(value)}`;
  }
  if (!Number.isSafeInteger(event.seq) || event.seq < 0) {
    return `seq must be an integer >= 0, got ${describeValue(event.seq)}`;
  }
  if (!Number.isSafeInteger(event.schemaVersion)) {
    return `schemaVersion must be an integer, got ${describeValue(event.schemaVersion)}`;
  }
  return undefined;
}

/** Builds the SQL of one query. Filter values are always bound, never spliced into the text. */
function compileQuery(query: LedgerQuery): { sql: string; params: unknown[]; limit: number } {
  if (typeof query !== 'object' || query === null)
    throw invalid(`ledger query must be an object, got ${describeValue(query)}`);
  const limit = query.limit ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw invalid(`ledger query limit must be a positive integer, got ${String(limit)}`);
  }
  const where: string[] = [];
  const params: unknown[] = [];
  for (const [field, column] of EQUALITY_FILTERS) {
    const value = query[field];
    if (value === undefined) continue;
    if (typeof value !== 'string')
      throw invalid(`ledger query ${field} must be a string, got ${describeValue(value)}`);
    where.push(`${column} = ?`);
    params.push(value);
  }
  if (query.type !== undefined) {
    if (typeof query.type === 'string') {
      where.push('type = ?');
      params.push(query.type);
    } else if (Array.isArray(query.type) && query.type.every((type) => typeof type === 'string')) {
      // One statement shape for lists of any length: the list is bound as a JSON array.
      where.push('type IN (SELECT value FROM json_each(?))');
      params.push(JSON.stringify(query.type));
    } else {
      throw invalid(
        `ledger query type must be a string or an array of strings, got ${describeValue(query.type)}`,
      );
    }
  }
  for (const [field, clause] of [
    ['from', 'ts >= ?'],
    ['to', 'ts < ?'],
  ] as const) {
    const value = query[field];
    if (value === undefined) continue;
    if (typeof value !== 'string') {
      throw invalid(`ledger query ${field} must be an ISO 8601 string, got ${describeValue(value)}`);
    }
    where.push(clause);
    params.push(value);
  }
  if (query.cursor !== undefined) {
    if (typeof query.cursor !== 'string' || !/^(0|[1-9][0-9]{0,15})$/.test(query.cursor)) {
      throw invalid(`ledger cursor ${JSON.stringify(query.cursor)} is not one this store issued`);
    }
    where.push('pos > ?');
    params.push(Number(query.cursor));
  }
  params.push(limit + 1); // one more than the page tells whether another page exists
  const sql =
    `SELECT ${COLUMNS} FROM custody_events` +
    (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
    ' ORDER BY pos LIMIT ?';
  return { sql, params, limit };
}

function rowToEvent(row: EventRow): LedgerEvent {
  return {
    schemaVersion: row.schema_version as LedgerEvent['schemaVersion'],
    id: row.id,
    stream: row.stream,
    seq: row.seq,
    runId: row.run_id,
    traceId: row.trace_id,
    spanId: row.span_id,
    ts: row.ts,
    type: row.type,
    tenant: row.tenant,
    actor: row.actor,
    payloadHash: row.payload_hash,
    prevHash: row.prev_hash,
    hash: row.hash,
    payload: row.payload === null ? null : parsePayload(row),
    salt: row.salt,
  };
}

/** A stored payload, parsed; text that is not JSON means the file was edited outside Custody. */
function parsePayload(row: EventRow): unknown {
  try {
    return JSON.parse(row.payload!);
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_STORE_ERROR',
      `the stored payload of event ${row.id} is not JSON (${error instanceof Error ? error.message : String(error)}): ` +
        'the database was changed outside Custody; restore it from a backup or a verified export',
      { cause: error, details: { eventId: row.id, stream: row.stream, seq: row.seq } },
    );
  }
}
