import {
  type ChainHead,
  CustodyError,
  describeValue,
  type FullLedgerStore,
  GroupCommit,
  type IdempotencyClaim,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerPage,
  type LedgerQuery,
  type LedgerStore,
  type Settled,
} from '@custody/core';
import { canonicalize, eventOutcome, eventToolName, GENESIS_HASH } from '@custody/core/ledger';
import {
  type PostgresPool,
  type Queryable,
  sqlState,
  storeError,
  throwIfAborted,
  toBuffer,
  toNumber,
  withTransaction,
} from './database.js';
import {
  changeRounds,
  changeStatement,
  type GroupChange,
  type IdempotencyChange,
  idempotencyKeyOf,
  takenKeys,
  untakenAnswers,
} from './idempotency-changes.js';
import { GUARD_STATES } from './migrations.js';
import type { SchemaNames } from './schema.js';

/**
 * The PostgreSQL ledger: {@link LedgerStore} with every optional capability, plus a commit-order
 * reader for tailing. `read` pages in append order with a cursor that is exact for a ledger nobody
 * is writing to; `tail` is the reader to poll while others append. `deleteStreams` (retention;
 * use `createLedger().prune`) and `erasePayload` (redaction; use `createLedger().redact`) go
 * through the schema's `ledger_delete_streams()` and `ledger_erase_payload()` functions, which
 * refuse a run or tenant under legal hold (`CUSTODY_LEGAL_HOLD`) and anything no operator record
 * explains (`CUSTODY_STORE_ERROR`) inside the database, locked against a hold being appended.
 * The append-only trigger refuses every other DELETE and UPDATE, and the role connected must own
 * the schema or be `migrate()`'s `pruneRole`. `heads` reads every stream's head from one snapshot.
 */
export interface PostgresLedgerStore extends FullLedgerStore {
  /**
   * Reads like `read`, but in commit order and only up to the oldest transaction still running
   * anywhere in the database, so a cursor kept and polled again never skips an event, however
   * late its transaction commits. The price: an event shows up only once every transaction that
   * started before its own has finished (usually milliseconds; a long transaction elsewhere holds
   * the tail back). Within a stream the order is still seq order.
   *
   * Unlike `read`, every non-empty page carries a `nextCursor` (where to poll from next, even when
   * nothing more has committed yet); an empty page carries none, so keep the cursor you had.
   * Its cursors are not `read`'s.
   *
   * @example
   * ```ts
   * let cursor: string | undefined;
   * for (;;) {
   *   const page = await stores.ledger.tail({ tenant: 'acme', cursor });
   *   for (const event of page.events) ship(event);
   *   cursor = page.nextCursor ?? cursor;
   *   if (page.events.length === 0) await sleep(500);
   * }
   * ```
   */
  tail(query?: LedgerQuery, options?: { signal?: AbortSignal }): Promise<LedgerPage>;
}

/** Tuning of the ledger, from the factory options. */
export interface LedgerSettings {
  readonly maxBatchEvents: number;
}

const DEFAULT_PAGE = 1000;
// Columns written per event, in the order of `insertParams`.
const INSERT_COLUMNS =
  'stream, seq, id, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, tool, outcome, payload_hash, prev_hash, hash, payload, salt';
const COLUMN_COUNT = 18;
// The PostgreSQL type of each column of INSERT_COLUMNS, for the UNNEST arrays.
const COLUMN_TYPES = [
  'text',
  'bigint',
  'text',
  'integer',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'text',
  'bytea',
  'text',
] as const;
// Rows per INSERT: each column travels as one array parameter, so this bounds the size of one
// statement (and of a fast-path write), not the parameter count.
const ROWS_PER_INSERT = 2000;
const SELECT_COLUMNS =
  'position, tx_id, stream, seq, id, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, payload_hash, prev_hash, hash, payload, salt';
// How often a flush starts over after losing a race to another writer before it gives up.
const MAX_ATTEMPTS = 8;
// Flushes a store runs at once over disjoint streams (each holds one pooled connection).
const FLUSH_LANES = 4;
// unique_violation (another writer took the seq or id), deadlock_detected, serialization_failure.
const RACE_STATES = new Set(['23505', '40P01', '40001']);
// What the fast path's statement fails with when a claim did not take its key: division_by_zero,
// raised on purpose so that nothing of it is written (see #statement).
const CLAIM_NOT_TAKEN = '22012';
// Thrown inside a transaction that must start over: a claim's row changed under it.
const LOST_RACE = new Error('an idempotency row changed during the transaction');
// Stream heads a store remembers for the fast path; past this, the least recently written go.
const CACHED_HEADS = 10_000;

/** An event checked and encoded for the INSERT, before any database work. */
export interface PreparedEvent {
  readonly event: LedgerEvent;
  readonly params: unknown[];
}

/**
 * One write waiting for a group: the events of an `append`, or those of a unit of work together
 * with its idempotency changes, which commit in the same transaction.
 */
export interface LedgerWrite {
  readonly events: readonly PreparedEvent[];
  readonly changes: readonly IdempotencyChange[];
}

/** What a committed write answers: the claim's answer, when it claimed a key. */
export interface LedgerWriteAnswer {
  readonly claim?: IdempotencyClaim;
}

/**
 * Which writes of a group go in (by index, with the events not yet stored) and which are
 * rejected, and the head each stream has once the accepted ones are written.
 */
interface Classification {
  readonly accepted: readonly { readonly index: number; readonly fresh: readonly PreparedEvent[] }[];
  readonly rejected: ReadonlyMap<number, CustodyError>;
  readonly heads: ReadonlyMap<string, ChainHead>;
}

/** What the database holds for a flush's streams and ids. */
interface StoredState {
  readonly heads: Map<string, ChainHead>;
  readonly hashes: Map<string, string>;
}

/**
 * Appends through core's {@link GroupCommit}: calls made while a transaction is in flight wait and
 * are then written together in the next one, each caller resolving only once that transaction has
 * committed. Up to four groups run at once, over disjoint streams; appends to one stream wait for
 * the group before them, so an instance that appends event n and n+1 without awaiting in between
 * still writes them in order. Units of work (events plus an idempotency change) share the queue,
 * keyed by their streams and idempotency keys, so their order holds against plain appends too.
 *
 * A group that only extends heads this store itself wrote or read last (or starts streams at seq
 * 0) is one autocommit statement: the usual case of a run written by one instance costs a single
 * round trip, idempotency changes included when every claim takes its key. Anything else, and any
 * such statement that loses to another writer, goes through the transaction that reads the heads
 * first, which alone decides conflicts.
 */
export class PostgresLedger implements PostgresLedgerStore {
  readonly specificationVersion = 'v1' as const;
  readonly #pool: () => Promise<PostgresPool>;
  readonly #names: SchemaNames;
  /** The queue of writes; groups in flight each hold one pooled connection, over disjoint keys. */
  readonly #commits: GroupCommit<LedgerWrite, LedgerWriteAnswer>;
  /**
   * The head of each stream as this store last committed or read it, least recently written
   * first. Only a hint that picks the fast path, never a check: see {@link #fastFlush} for why a
   * stale entry can cost a round trip but never let a wrong event in.
   */
  readonly #heads = new Map<string, ChainHead>();
  /**
   * Bumped when a `deleteStreams` starts and when it ends: a flush that overlapped one does not
   * remember heads, which the deletion may already have removed by the time it hears back.
   */
  #deletions = 0;
  #closed = false;
  readonly #insertSql: string;
  readonly #guardedInsertSql: string;

  constructor(pool: () => Promise<PostgresPool>, names: SchemaNames, settings: LedgerSettings) {
    this.#pool = pool;
    this.#names = names;
    this.#commits = new GroupCommit({
      write: (group) => this.#flush(group),
      keysOf: writeKeys,
      // A write with no events still costs its idempotency statement.
      sizeOf: (write) => Math.max(1, write.events.length),
      maxGroupSize: settings.maxBatchEvents,
      lanes: FLUSH_LANES,
    });
    // One array per column and a single UNNEST: the statement text and its 18 parameters stay the
    // same whatever the batch size, which PostgreSQL plans far faster than thousands of VALUES
    // placeholders.
    const insert =
      `INSERT INTO ${names.ledgerEvents} (${INSERT_COLUMNS}) SELECT ${COLUMN_TYPES.map((type, i) =>
        type === 'bytea' ? `convert_to(c${i}, 'UTF8')` : `c${i}`,
      ).join(', ')}` +
      ` FROM unnest(${COLUMN_TYPES.map((type, i) => `$${i + 1}::${type === 'bytea' ? 'text' : type}[]`).join(', ')})` +
      ` AS t(${COLUMN_TYPES.map((_, i) => `c${i}`).join(', ')})`;
    this.#insertSql = insert;
    // The fast path's INSERT, which writes nothing unless every head it extends is still stored:
    // the condition does not depend on the rows, so PostgreSQL checks it once, up front.
    this.#guardedInsertSql = `${insert} WHERE ${this.#headsStored(COLUMN_COUNT + 1)}`;
  }

  append(events: readonly LedgerEvent[], options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      if (this.#closed) throw closedError();
      throwIfAborted(options.signal, 'ledger append');
      if (!Array.isArray(events)) {
        throw new CustodyError(
          'CUSTODY_INVALID_ARGUMENT',
          `ledger append takes an array of events, got ${describeValue(events)}`,
        );
      }
      if (events.length === 0) return Promise.resolve();
      // Encode before queueing: a payload that is not faithful JSON fails here, alone.
      const prepared = events.map((event, index) => prepare(event, index));
      return this.#commits.submit({ events: prepared, changes: [] }, options).then(() => undefined);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Queues a unit of work's events (checked with {@link prepareEvents}) and idempotency changes,
   * to commit in one transaction, in the same queue as `append`. For the unit-of-work store.
   */
  commitWrite(write: LedgerWrite, options: { signal?: AbortSignal } = {}): Promise<LedgerWriteAnswer> {
    if (this.#closed) return Promise.reject(closedError());
    if (write.events.length === 0 && write.changes.length === 0) return Promise.resolve({});
    return this.#commits.submit(write, options);
  }

  async head(stream: string): Promise<ChainHead | undefined> {
    const pool = await this.#pool();
    try {
      const result = await pool.query(
        `SELECT seq, hash FROM ${this.#names.ledgerEvents} WHERE stream = $1 ORDER BY seq DESC LIMIT 1`,
        [stream],
      );
      const row = result.rows[0];
      return row ? { seq: toNumber(row.seq), hash: String(row.hash) } : undefined;
    } catch (error) {
      throw storeError(error, 'ledger head', this.#names.schema);
    }
  }

  async read(query: LedgerQuery = {}, options: { signal?: AbortSignal } = {}): Promise<LedgerPage> {
    throwIfAborted(options.signal, 'ledger read');
    const limit = pageSize(query);
    const where: string[] = [];
    const params: unknown[] = [];
    if (query.cursor !== undefined) {
      if (typeof query.cursor !== 'string' || !/^\d{1,19}$/.test(query.cursor))
        throw badCursor(query.cursor, 'read');
      params.push(query.cursor);
      where.push(`position > $${params.length}::bigint`);
    }
    addFilters(query, where, params);
    params.push(limit + 1);
    const sql =
      `SELECT ${SELECT_COLUMNS} FROM ${this.#names.ledgerEvents}` +
      (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY position LIMIT $${params.length}`;
    const rows = await this.#query(sql, params, 'ledger read');
    return page(rows, limit, (row) => String(row.position));
  }

  async tail(query: LedgerQuery = {}, options: { signal?: AbortSignal } = {}): Promise<LedgerPage> {
    throwIfAborted(options.signal, 'ledger tail');
    const limit = pageSize(query);
    // Only transactions older than the snapshot's xmin: all of them have finished, and every
    // transaction still to commit has an id at or above it, so it sorts after this page.
    const where = ['tx_id < pg_snapshot_xmin(pg_current_snapshot())'];
    const params: unknown[] = [];
    if (query.cursor !== undefined) {
      const match = typeof query.cursor === 'string' ? /^t(\d{1,20})\.(\d{1,19})$/.exec(query.cursor) : null;
      if (!match) throw badCursor(query.cursor, 'tail');
      params.push(match[1], match[2]);
      where.push(`(tx_id, position) > ($${params.length - 1}::xid8, $${params.length}::bigint)`);
    }
    addFilters(query, where, params);
    params.push(limit);
    const sql =
      `SELECT ${SELECT_COLUMNS} FROM ${this.#names.ledgerEvents} WHERE ${where.join(' AND ')}` +
      ` ORDER BY tx_id, position LIMIT $${params.length}`;
    const rows = await this.#query(sql, params, 'ledger tail');
    const last = rows[rows.length - 1];
    // A cursor after every non-empty page, even the last one so far: it is where to poll from.
    return last
      ? { events: rows.map(toEvent), nextCursor: `t${String(last.tx_id)}.${String(last.position)}` }
      : { events: [] };
  }

  async erasePayload(eventId: string, options: { signal?: AbortSignal } = {}): Promise<boolean> {
    throwIfAborted(options.signal, 'ledger erasePayload');
    if (typeof eventId !== 'string') {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `ledger erasePayload takes an event id, got ${describeValue(eventId)}`,
      );
    }
    const rows = await this.#guarded(
      `SELECT ${this.#names.ledgerErasePayload}($1::text) AS erased`,
      [eventId],
      'ledger erasePayload',
    );
    return rows[0]?.erased === true;
  }

  async deleteStreams(streams: readonly string[], options: { signal?: AbortSignal } = {}): Promise<number> {
    throwIfAborted(options.signal, 'ledger deleteStreams');
    if (!Array.isArray(streams) || !streams.every((stream) => typeof stream === 'string')) {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `ledger deleteStreams takes an array of stream names, got ${describeValue(streams)}`,
      );
    }
    const unique = [...new Set(streams)];
    if (unique.length === 0) return 0;
    // Appends this instance already queued are written first, as they were made first.
    await this.#commits.idle();
    // Forgotten before and after: a flush running alongside may still learn a head this deletes,
    // and #deletions keeps one that hears back only after it from learning any.
    this.#deletions++;
    for (const stream of unique) this.#heads.delete(stream);
    try {
      const rows = await this.#guarded(
        `SELECT ${this.#names.ledgerDeleteStreams}($1::text[]) AS deleted`,
        [unique],
        'ledger deleteStreams',
      );
      return toNumber(rows[0]?.deleted);
    } finally {
      this.#deletions++;
      for (const stream of unique) this.#heads.delete(stream);
    }
  }

  async heads(options: { signal?: AbortSignal } = {}): Promise<Record<string, ChainHead>> {
    throwIfAborted(options.signal, 'ledger heads');
    const t = this.#names.ledgerEvents;
    // A loose index scan over the (stream, seq) key: hop from stream to stream, then take each
    // stream's last seq. One statement, so one snapshot: the heads are consistent with each other.
    const rows = await this.#query(
      `WITH RECURSIVE streams(stream) AS (
         (SELECT stream FROM ${t} ORDER BY stream LIMIT 1)
         UNION ALL
         SELECT (SELECT e.stream FROM ${t} e WHERE e.stream > streams.stream ORDER BY e.stream LIMIT 1)
           FROM streams WHERE streams.stream IS NOT NULL
       )
       SELECT s.stream, h.seq, h.hash FROM streams s
       CROSS JOIN LATERAL (SELECT seq, hash FROM ${t} e WHERE e.stream = s.stream ORDER BY seq DESC LIMIT 1) h
       WHERE s.stream IS NOT NULL`,
      [],
      'ledger heads',
    );
    const heads: Record<string, ChainHead> = {};
    for (const row of rows) heads[String(row.stream)] = { seq: toNumber(row.seq), hash: String(row.hash) };
    return heads;
  }

  async appendCheckpoint(
    checkpoint: LedgerCheckpoint,
    options: { signal?: AbortSignal } = {},
  ): Promise<void> {
    throwIfAborted(options.signal, 'ledger appendCheckpoint');
    if (typeof checkpoint !== 'object' || checkpoint === null || typeof checkpoint.createdAt !== 'string') {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `appendCheckpoint takes a ledger checkpoint (with createdAt), got ${describeValue(checkpoint)}`,
      );
    }
    const json = Buffer.from(canonicalize(checkpoint), 'utf8');
    await this.#query(
      `INSERT INTO ${this.#names.ledgerCheckpoints} (created_at, checkpoint) VALUES ($1, $2)`,
      [checkpoint.createdAt, json],
      'ledger appendCheckpoint',
    );
  }

  async listCheckpoints(options: { signal?: AbortSignal } = {}): Promise<LedgerCheckpoint[]> {
    throwIfAborted(options.signal, 'ledger listCheckpoints');
    const rows = await this.#query(
      `SELECT checkpoint FROM ${this.#names.ledgerCheckpoints} ORDER BY position`,
      [],
      'ledger listCheckpoints',
    );
    return rows.map((row) => JSON.parse(toBuffer(row.checkpoint).toString('utf8')) as LedgerCheckpoint);
  }

  /** Waits for every queued append to settle; later appends are refused. */
  async close(): Promise<void> {
    this.#closed = true;
    await this.#commits.idle();
  }

  async #query(sql: string, params: unknown[], what: string): Promise<readonly Record<string, unknown>[]> {
    const pool = await this.#pool();
    try {
      return (await pool.query(sql, params)).rows;
    } catch (error) {
      throw storeError(error, what, this.#names.schema);
    }
  }

  /**
   * Calls one of the guard functions in its own READ COMMITTED transaction (whatever the
   * database's default isolation), so that after taking its lock it sees every hold committed,
   * and maps what it raises to Custody's codes.
   */
  async #guarded(sql: string, params: unknown[], what: string): Promise<readonly Record<string, unknown>[]> {
    const pool = await this.#pool();
    try {
      const result = await withTransaction(
        pool,
        (db) => db.query(sql, params),
        'BEGIN ISOLATION LEVEL READ COMMITTED',
      );
      return result.rows;
    } catch (error) {
      throw guardError(error, what, this.#names);
    }
  }

  /**
   * Writes a group, in one statement or else in one transaction, and answers for each write:
   * rejected alone when its events conflict (its idempotency changes are then not written either).
   * Throws, failing every write of the group, when the database refused the whole of it.
   */
  async #flush(group: readonly LedgerWrite[]): Promise<Settled<LedgerWriteAnswer>[]> {
    const fast = await this.#fastFlush(group);
    if (fast) return fast;
    let lastRace: unknown;
    for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
      let outcome: { classification: Classification; claims: ReadonlyMap<number, IdempotencyClaim> };
      const deletions = this.#deletions;
      try {
        const pool = await this.#pool();
        outcome = await withTransaction(pool, async (db) => {
          const stored = await this.#loadState(db, group);
          const classification = classify(group, stored);
          const rows = classification.accepted.flatMap((entry) => entry.fresh);
          const changes = classification.accepted.flatMap(({ index }) =>
            group[index]!.changes.map((change) => ({ unit: index, change })),
          );
          const claims = await this.#writeAll(db, rows, changes);
          return { classification, claims };
        });
      } catch (error) {
        if (error === LOST_RACE || RACE_STATES.has(sqlState(error) ?? '')) {
          // Another writer committed a row this group also wanted. Start over: the fresh read
          // sees it, so only the writes it really conflicts with are rejected.
          lastRace = error;
          continue;
        }
        throw this.#failure(error);
      }
      const { classification, claims } = outcome;
      // Rejected writes included: the heads were read in this transaction, so the next append
      // that extends them can take the fast path.
      this.#remember(group, classification.heads, deletions);
      return group.map((_, index): Settled<LedgerWriteAnswer> => {
        const rejected = classification.rejected.get(index);
        if (rejected) return { ok: false, error: rejected };
        const claim = claims.get(index);
        return { ok: true, value: claim ? { claim } : {} };
      });
    }
    throw new CustodyError(
      'CUSTODY_LEDGER_CONFLICT',
      `ledger append lost ${MAX_ATTEMPTS} races in a row to other writers on the same streams; nothing was written: read the heads again and retry`,
      { cause: lastRace === LOST_RACE ? undefined : lastRace },
    );
  }

  /**
   * Inside the group's transaction: inserts the accepted events and applies their idempotency
   * changes, round by round, and answers each claim (by the index of its write). The first round
   * shares the statement of the events when they fit in one INSERT.
   */
  async #writeAll(
    db: Queryable,
    rows: readonly PreparedEvent[],
    changes: readonly GroupChange[],
  ): Promise<Map<number, IdempotencyClaim>> {
    const rounds = changeRounds(changes);
    let pending: readonly PreparedEvent[] = rows;
    if (rows.length > ROWS_PER_INSERT || rounds.length === 0) {
      for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) {
        await this.#insert(db, rows.slice(start, start + ROWS_PER_INSERT));
      }
      pending = [];
    }
    const claims = new Map<number, IdempotencyClaim>();
    for (const round of rounds) {
      const statement = this.#statement(pending, round);
      pending = [];
      const result = await db.query(statement.text, statement.params);
      const taken = takenKeys(parseTaken(result.rows[0]?.taken));
      const untaken: GroupChange[] = [];
      for (const entry of round) {
        if (entry.change.kind !== 'claim') continue;
        if (taken.has(idempotencyKeyOf(entry.change))) claims.set(entry.unit, { status: 'claimed' });
        else untaken.push(entry);
      }
      const answers = await untakenAnswers(
        db,
        this.#names,
        untaken.map(({ change }) => (change as Extract<IdempotencyChange, { kind: 'claim' }>).request),
      );
      for (let i = 0; i < untaken.length; i++) {
        const answer = answers[i];
        if (answer === undefined) throw LOST_RACE;
        claims.set(untaken[i]!.unit, answer);
      }
    }
    return claims;
  }

  /**
   * One statement for events and one round of idempotency changes, as CTEs. With `guard` (the
   * fast path's remembered heads) nothing is written unless every head is still stored, and the
   * statement fails with division_by_zero, writing nothing, unless every claim takes its key: an
   * answer other than "claimed" needs the transaction's locked read.
   */
  #statement(
    rows: readonly PreparedEvent[],
    round: readonly GroupChange[],
    guard?: ReadonlyMap<string, ChainHead>,
  ): { text: string; params: unknown[]; claims: number } {
    const params: unknown[] = [];
    const ctes: string[] = [];
    let condition = 'true';
    if (rows.length > 0) params.push(...columnsOf(rows));
    if (guard) {
      ctes.push(`ok AS (SELECT ${this.#headsStored(params.length + 1)} AS ok)`);
      params.push(
        [...guard.keys()],
        [...guard.values()].map((head) => head.seq),
        [...guard.values()].map((head) => head.hash),
      );
      condition = '(SELECT ok FROM ok)';
    }
    if (rows.length > 0) ctes.push(`ev AS (${this.#insertSql} WHERE ${condition} RETURNING 1)`);
    const changes = changeStatement(this.#names, round, params.length + 1, condition);
    ctes.push(...changes.ctes);
    params.push(...changes.params);
    const columns = [rows.length > 0 ? '(SELECT count(*) FROM ev) AS events' : '0 AS events'];
    if (changes.claims > 0) {
      columns.push('(SELECT array_agg(json_build_array(tenant, key)::text) FROM claimed) AS taken');
      if (guard) {
        columns.push(
          `1 / (CASE WHEN (SELECT count(*) FROM claimed) = ${changes.claims} THEN 1 ELSE 0 END) AS all_claimed`,
        );
      }
    }
    return { text: `WITH ${ctes.join(',\n')}\nSELECT ${columns.join(', ')}`, params, claims: changes.claims };
  }

  /**
   * An SQL condition: every (stream, seq, hash) of the three arrays from parameter `first` on is
   * stored. It does not depend on the rows written, so PostgreSQL checks it once, up front.
   */
  #headsStored(first: number): string {
    return (
      `NOT EXISTS (SELECT 1 FROM unnest($${first}::text[], $${first + 1}::bigint[], $${first + 2}::text[]) AS p(stream, seq, hash)` +
      ` WHERE NOT EXISTS (SELECT 1 FROM ${this.#names.ledgerEvents} e WHERE e.stream = p.stream AND e.seq = p.seq AND e.hash = p.hash))`
    );
  }

  /**
   * The fast path: checks the batch against the remembered heads and, when every caller extends
   * them (a stream not remembered must start at seq 0 on the genesis hash), writes it with one
   * autocommit INSERT, atomic as any single statement. Resolves false, having written nothing
   * and settled nobody, when the batch needs the transaction instead: a caller that does not fit
   * (a stale head, an idempotent re-append, a real conflict: only the stored state can tell
   * which), a batch too large for one statement, or an INSERT that did not go in whole.
   *
   * The remembered heads can only make this path miss, never let a wrong event in. Events are
   * never updated in the columns that chain them and only whole streams are ever deleted;
   * `(stream, seq)` is the primary key and `id` is unique. A head was remembered because it was
   * committed or read. If another writer has since extended the stream, it holds seq head + 1,
   * the seq the batch's first event of that stream takes, so the INSERT fails with
   * unique_violation; the same goes for an id already stored. If the stream was deleted since
   * (by another instance: this one forgets the heads it deletes), the INSERT's guard finds the
   * remembered head gone, or stored again with another hash, and writes nothing. Either way the
   * transaction then decides from what is stored, as it would have without the cache, so
   * re-appends still resolve and conflicts still reject. (An append racing a deletion of its own
   * stream is no safer in the transaction: its read, too, can come just before the DELETE.)
   */
  async #fastFlush(group: readonly LedgerWrite[]): Promise<Settled<LedgerWriteAnswer>[] | undefined> {
    const known = new Map<string, ChainHead>();
    for (const write of group) {
      for (const { event } of write.events) {
        const head = this.#heads.get(event.stream);
        if (head) known.set(event.stream, head);
      }
    }
    // No stored ids: an event already stored is taken for a fresh one, and the INSERT refuses it.
    const outcome = classify(group, { heads: known, hashes: new Map() });
    if (outcome.rejected.size > 0) return undefined;
    const rows = outcome.accepted.flatMap((entry) => entry.fresh);
    const changes = group.flatMap((write, unit) => write.changes.map((change) => ({ unit, change })));
    // One statement, so no more rows than one INSERT of the transaction takes, and no key twice.
    if (rows.length > ROWS_PER_INSERT) return undefined;
    const rounds = changeRounds(changes);
    if (rounds.length > 1) return undefined;
    const deletions = this.#deletions;
    let inserted: number | null;
    try {
      const pool = await this.#pool();
      if (rounds.length === 0) {
        const guard = [
          [...known.keys()],
          [...known.values()].map((head) => head.seq),
          [...known.values()].map((head) => head.hash),
        ];
        inserted = (await pool.query(this.#guardedInsertSql, [...columnsOf(rows), ...guard])).rowCount;
      } else {
        const statement = this.#statement(rows, rounds[0]!, known);
        inserted = toNumber((await pool.query(statement.text, statement.params)).rows[0]?.events);
      }
    } catch (error) {
      const state = sqlState(error);
      // A claim that did not take its key: the transaction reads its answer under the claim's lock.
      if (state === CLAIM_NOT_TAKEN) return undefined;
      this.#forget(group);
      if (state !== undefined && RACE_STATES.has(state)) return undefined;
      throw this.#failure(error);
    }
    // Short means the guard found a remembered head deleted (and wrote nothing at all); unknown
    // (a pool that reports no rowCount) is left to the transaction too, which finds anything
    // written already stored.
    if (inserted !== rows.length) {
      this.#forget(group);
      return undefined;
    }
    this.#remember(group, outcome.heads, deletions);
    return group.map((write) => ({
      ok: true,
      value: write.changes.some((change) => change.kind === 'claim') ? { claim: { status: 'claimed' } } : {},
    }));
  }

  /** What every write of a group is rejected with when the database refused the whole of it. */
  #failure(error: unknown): CustodyError {
    return storeError(
      error,
      'ledger append',
      this.#names.schema,
      CustodyError.isInstance(error) ? error.code : 'CUSTODY_LEDGER_WRITE_FAILED',
    );
  }

  /** Keeps the heads a flush committed or read, unless a deletion overlapped it. */
  #remember(group: readonly LedgerWrite[], heads: ReadonlyMap<string, ChainHead>, deletions: number): void {
    if (deletions !== this.#deletions) {
      this.#forget(group);
      return;
    }
    for (const write of group) {
      for (const { event } of write.events) {
        const head = heads.get(event.stream);
        this.#heads.delete(event.stream);
        if (head) this.#heads.set(event.stream, head);
      }
    }
    for (const stream of this.#heads.keys()) {
      if (this.#heads.size <= CACHED_HEADS) break;
      this.#heads.delete(stream);
    }
  }

  #forget(group: readonly LedgerWrite[]): void {
    for (const write of group) {
      for (const { event } of write.events) this.#heads.delete(event.stream);
    }
  }

  async #loadState(db: Queryable, group: readonly LedgerWrite[]): Promise<StoredState> {
    const streams = new Set<string>();
    const ids = new Set<string>();
    for (const write of group) {
      for (const { event } of write.events) {
        streams.add(event.stream);
        ids.add(event.id);
      }
    }
    // One round trip: the head of each stream (a backward index probe each, never a scan) and
    // the hash of every id the batch carries that is already stored.
    const result = await db.query(
      `SELECT 'head' AS kind, s.stream AS key, h.seq, h.hash
         FROM unnest($1::text[]) AS s(stream)
         CROSS JOIN LATERAL (
           SELECT seq, hash FROM ${this.#names.ledgerEvents} e WHERE e.stream = s.stream ORDER BY seq DESC LIMIT 1
         ) h
       UNION ALL
       SELECT 'event', id, NULL, hash FROM ${this.#names.ledgerEvents} WHERE id = ANY($2::text[])`,
      [[...streams], [...ids]],
    );
    const heads = new Map<string, ChainHead>();
    const hashes = new Map<string, string>();
    for (const row of result.rows) {
      if (row.kind === 'head') heads.set(String(row.key), { seq: toNumber(row.seq), hash: String(row.hash) });
      else hashes.set(String(row.key), String(row.hash));
    }
    return { heads, hashes };
  }

  async #insert(db: Queryable, rows: readonly PreparedEvent[]): Promise<void> {
    await db.query(this.#insertSql, columnsOf(rows));
  }
}

/** The INSERT's parameters: one array per column. */
function columnsOf(rows: readonly PreparedEvent[]): unknown[][] {
  const columns: unknown[][] = Array.from({ length: COLUMN_COUNT }, () => new Array(rows.length));
  rows.forEach((row, r) => {
    for (let c = 0; c < COLUMN_COUNT; c++) columns[c]![r] = row.params[c];
  });
  return columns;
}

/**
 * Decides, for each write in order, whether its events extend the streams — the same rules as
 * the in-memory ledger: an id already stored with the same hash is skipped (idempotent
 * re-append), with another hash it is a conflict; otherwise seq must be head + 1 and prevHash the
 * head's hash. A rejected write's events are left out and do not affect the writes after it.
 */
function classify(group: readonly LedgerWrite[], stored: StoredState): Classification {
  const heads = new Map(stored.heads);
  const hashes = new Map(stored.hashes);
  const accepted: { index: number; fresh: PreparedEvent[] }[] = [];
  const rejected = new Map<number, CustodyError>();
  group.forEach((write, index) => {
    const local = new Map<string, ChainHead>();
    const fresh: PreparedEvent[] = [];
    let error: CustodyError | undefined;
    for (const prepared of write.events) {
      const { event } = prepared;
      const existing = hashes.get(event.id);
      if (existing !== undefined) {
        if (existing === event.hash) continue;
        error = conflict(event, `event ${event.id} is already stored with another hash`);
        break;
      }
      const head = local.get(event.stream) ?? heads.get(event.stream);
      const expectedSeq = head ? head.seq + 1 : 0;
      const expectedPrev = head ? head.hash : GENESIS_HASH;
      if (event.seq !== expectedSeq || event.prevHash !== expectedPrev) {
        error = conflict(
          event,
          event.seq !== expectedSeq
            ? `event ${event.id} does not extend stream ${event.stream}: expected seq ${expectedSeq}, got ${event.seq}`
            : `event ${event.id} does not extend stream ${event.stream}: its prevHash is not the hash of seq ${expectedSeq - 1}`,
        );
        break;
      }
      local.set(event.stream, { seq: event.seq, hash: event.hash });
      fresh.push(prepared);
    }
    if (error) {
      rejected.set(index, error);
      return;
    }
    for (const [stream, head] of local) heads.set(stream, head);
    for (const { event } of fresh) hashes.set(event.id, event.hash);
    accepted.push({ index, fresh });
  });
  return { accepted, rejected, heads };
}

/** The keys a write holds in the queue: its streams and its idempotency keys. */
function writeKeys(write: LedgerWrite): string[] {
  const keys = new Set<string>();
  for (const { event } of write.events) keys.add(`stream:${event.stream}`);
  for (const change of write.changes) keys.add(idempotencyKeyOf(change));
  return [...keys];
}

/** The `taken` column of a write statement: each key a claim took, as `[tenant, key]` JSON. */
function parseTaken(value: unknown): Record<string, unknown>[] {
  if (!Array.isArray(value)) return [];
  return value.map((text) => {
    const [tenant, key] = JSON.parse(String(text)) as [string, string];
    return { tenant, key };
  });
}

/** Checks and encodes events before they are queued: a bad one fails its own write, alone. */
export function prepareEvents(events: readonly LedgerEvent[]): PreparedEvent[] {
  return events.map((event, index) => prepare(event, index));
}

function conflict(event: LedgerEvent, message: string): CustodyError {
  return new CustodyError('CUSTODY_LEDGER_CONFLICT', `${message}; nothing from this append was written`, {
    details: { stream: event.stream, seq: event.seq, eventId: event.id },
  });
}

/**
 * What `deleteStreams` / `erasePayload` throw for an error of their guard function: the refusals
 * it raises keep its message and details; a role without `EXECUTE` gets told which role to use.
 */
function guardError(error: unknown, what: string, names: SchemaNames): CustodyError {
  const state = sqlState(error);
  const message = error instanceof Error ? error.message : String(error);
  if (state === GUARD_STATES.legalHold || state === GUARD_STATES.noRecord) {
    return new CustodyError(
      state === GUARD_STATES.legalHold ? 'CUSTODY_LEGAL_HOLD' : 'CUSTODY_STORE_ERROR',
      message,
      {
        cause: error,
        details: { ...parseDetail(error), schema: names.schema },
      },
    );
  }
  const fn = what === 'ledger erasePayload' ? 'ledger_erase_payload' : 'ledger_delete_streams';
  if (state === '42501' && message.includes(fn)) {
    const action = fn === 'ledger_erase_payload' ? 'erase payloads (redact)' : 'delete streams (prune)';
    return new CustodyError(
      'CUSTODY_STORE_ERROR',
      `PostgreSQL ${what} failed: the role connected may not ${action}: only migrate()'s pruneRole and the ` +
        `owner of schema "${names.schema}" may execute ${fn}(); run createLedger().${fn === 'ledger_erase_payload' ? 'redact' : 'prune'} ` +
        'with stores connected as that role (migrate({ pruneRole }) grants it)',
      { cause: error, details: { sqlState: state, schema: names.schema } },
    );
  }
  if (state === '42883' && message.includes(fn)) {
    return new CustodyError(
      'CUSTODY_STORE_ERROR',
      `PostgreSQL ${what} failed: ${message}; schema "${names.schema}" predates it: call \`await stores.migrate()\` once first`,
      { cause: error, details: { sqlState: state, schema: names.schema } },
    );
  }
  return storeError(error, what, names.schema);
}

/** The JSON details a guard function puts in its error's DETAIL. */
function parseDetail(error: unknown): Record<string, unknown> {
  const detail = (error as { detail?: unknown } | null)?.detail;
  if (typeof detail !== 'string') return {};
  try {
    const parsed = JSON.parse(detail) as unknown;
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

function closedError(): CustodyError {
  return new CustodyError(
    'CUSTODY_STORE_ERROR',
    'the PostgreSQL ledger is closed: create new stores to append again',
  );
}

function requireString(event: LedgerEvent, index: number, field: keyof LedgerEvent, nullable: boolean): void {
  const value = event[field];
  if (typeof value === 'string' || (nullable && value === null)) return;
  throw new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `ledger append: event ${index} field ${field} must be a string${nullable ? ' or null' : ''}, got ${describeValue(value)}`,
    { details: { index, field } },
  );
}

/** Checks the fields the columns need and encodes the payload as its canonical JSON bytes. */
function prepare(event: LedgerEvent, index: number): PreparedEvent {
  if (typeof event !== 'object' || event === null) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `ledger append: event ${index} must be an object, got ${describeValue(event)}`,
    );
  }
  for (const field of [
    'id',
    'stream',
    'ts',
    'type',
    'tenant',
    'actor',
    'payloadHash',
    'prevHash',
    'hash',
  ] as const) {
    requireString(event, index, field, false);
  }
  for (const field of ['runId', 'traceId', 'spanId', 'salt'] as const)
    requireString(event, index, field, true);
  for (const field of ['seq', 'schemaVersion'] as const) {
    const value = event[field];
    if (!Number.isSafeInteger(value) || (value as number) < 0) {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `ledger append: event ${index} field ${field} must be a non-negative integer, got ${describeValue(value)}`,
        { details: { index, field } },
      );
    }
  }
  // Sent as text and turned into bytes by the server (convert_to … 'UTF8'): canonical JSON is
  // well-formed UTF-8 with every control character escaped, so the bytes are the same, and text
  // arrays cost the client a fraction of what bytea arrays do to encode.
  const payload = event.payload === null ? null : canonicalize(event.payload);
  return {
    event,
    params: [
      event.stream,
      event.seq,
      event.id,
      event.schemaVersion,
      event.runId,
      event.traceId,
      event.spanId,
      event.ts,
      event.type,
      event.tenant,
      event.actor,
      derivedText(eventToolName(event)),
      derivedText(eventOutcome(event)),
      event.payloadHash,
      event.prevHash,
      event.hash,
      payload,
      event.salt,
    ],
  };
}

/**
 * A value for a column derived from the payload (tool, outcome). PostgreSQL text cannot hold
 * U+0000, and such a value must not fail the append of the whole event: it is left NULL (the
 * event is then not found by that filter; the payload itself, in bytea, keeps it exactly).
 */
function derivedText(value: string | undefined): string | null {
  return value === undefined || value.includes('\u0000') ? null : value;
}

function pageSize(query: LedgerQuery): number {
  const limit = query.limit ?? DEFAULT_PAGE;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `ledger query limit must be a positive integer, got ${describeValue(limit)}`,
    );
  }
  return limit;
}

function badCursor(cursor: unknown, method: string): CustodyError {
  return new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `ledger cursor ${describeValue(cursor)} is not one this store's ${method}() issued: pass a nextCursor from ${method}() unchanged`,
  );
}

/** The WHERE terms of a query's filters (cursor and limit aside), as `matchesLedgerQuery` applies them. */
function addFilters(query: LedgerQuery, where: string[], params: unknown[]): void {
  const equal = (column: string, value: string | undefined) => {
    if (value === undefined) return;
    params.push(value);
    where.push(`${column} = $${params.length}`);
  };
  equal('run_id', query.runId);
  equal('stream', query.stream);
  equal('trace_id', query.traceId);
  equal('tenant', query.tenant);
  equal('actor', query.actor);
  equal('tool', query.tool);
  if (query.outcome !== undefined && typeof query.outcome !== 'string') {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `ledger query outcome must be a string, got ${describeValue(query.outcome)}`,
    );
  }
  equal('outcome', query.outcome);
  if (query.type !== undefined) {
    if (typeof query.type === 'string') {
      equal('type', query.type);
    } else {
      params.push([...query.type]);
      where.push(`type = ANY($${params.length}::text[])`);
    }
  }
  // ISO 8601 strings compare as text; COLLATE "C" makes that byte order, as in JavaScript.
  if (query.from !== undefined) {
    params.push(query.from);
    where.push(`ts COLLATE "C" >= $${params.length}`);
  }
  if (query.to !== undefined) {
    params.push(query.to);
    where.push(`ts COLLATE "C" < $${params.length}`);
  }
}

function page(
  rows: readonly Record<string, unknown>[],
  limit: number,
  cursorOf: (row: Record<string, unknown>) => string,
): LedgerPage {
  const events = rows.slice(0, limit).map(toEvent);
  return rows.length > limit ? { events, nextCursor: cursorOf(rows[limit - 1]!) } : { events };
}

function toEvent(row: Record<string, unknown>): LedgerEvent {
  const nullable = (value: unknown) => (value === null || value === undefined ? null : String(value));
  return {
    schemaVersion: toNumber(row.schema_version) as LedgerEvent['schemaVersion'],
    id: String(row.id),
    stream: String(row.stream),
    seq: toNumber(row.seq),
    runId: nullable(row.run_id),
    traceId: nullable(row.trace_id),
    spanId: nullable(row.span_id),
    ts: String(row.ts),
    type: String(row.type),
    tenant: String(row.tenant),
    actor: String(row.actor),
    payloadHash: String(row.payload_hash),
    prevHash: String(row.prev_hash),
    hash: String(row.hash),
    payload: row.payload === null || row.payload === undefined ? null : parsePayload(row),
    salt: nullable(row.salt),
  };
}

/** A stored payload, parsed; bytes that are not JSON mean the table was edited outside Custody. */
function parsePayload(row: Record<string, unknown>): unknown {
  try {
    return JSON.parse(toBuffer(row.payload).toString('utf8'));
  } catch (error) {
    if (CustodyError.isInstance(error)) throw error;
    throw new CustodyError(
      'CUSTODY_STORE_ERROR',
      `the stored payload of event ${String(row.id)} is not JSON (${error instanceof Error ? error.message : String(error)}): ` +
        'the table was changed outside Custody; restore it from a backup or a verified export',
      {
        cause: error,
        details: { eventId: String(row.id), stream: String(row.stream), seq: toNumber(row.seq) },
      },
    );
  }
}
