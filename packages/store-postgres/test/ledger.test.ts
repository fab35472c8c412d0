import { generateKeyPairSync } from 'node:crypto';
import {
  CustodyError,
  createEd25519Signer,
  InMemoryLedgerStore,
  type LedgerEvent,
  type LedgerQuery,
  readAll,
  verifyLedger,
} from '@custody/core';
import {
  canonicalize,
  checkpointCount,
  checkpointRoot,
  createCheckpoint,
  signCheckpoint,
} from '@custody/core/ledger';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresStores, type PostgresPool, type PostgresStores } from '../src/index.js';
import { headOf, makeChain, makeEvent } from './events.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

/**
 * A pool wrapper that logs every statement run on checked-out connections and every INSERT sent
 * to the pool itself (a fast-path flush), and can hold `connect()`.
 */
function instrument(pool: pg.Pool) {
  const statements: string[] = [];
  let autocommitInserts = 0;
  let gate: Promise<void> | undefined;
  const client: PostgresPool = {
    query: (text, params) => {
      // The fast path's flush: one autocommit INSERT straight on the pool.
      if (text.startsWith('INSERT')) {
        statements.push(text);
        autocommitInserts++;
      }
      return pool.query(text, params);
    },
    connect: async () => {
      if (gate) await gate;
      const connection = await pool.connect();
      return {
        query: (text, params) => {
          statements.push(text);
          return connection.query(text, params);
        },
        release: (error) => connection.release(error),
      };
    },
  };
  return {
    client,
    statements,
    /** Flushes: transactions, and fast-path INSERTs that committed on their own. */
    commits: () => statements.filter((text) => text === 'BEGIN').length + autocommitInserts,
    hold(): () => void {
      let open!: () => void;
      gate = new Promise((resolve) => {
        open = resolve;
      });
      return () => {
        gate = undefined;
        open();
      };
    },
  };
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    if (!CustodyError.isInstance(error)) throw error;
    return error.code;
  }
}

/** Inserts one sealed event with raw SQL, as another writer (or an attacker) would. */
async function rawInsert(db: pg.Pool | pg.PoolClient, schema: string, event: LedgerEvent): Promise<void> {
  await db.query(
    `INSERT INTO "${schema}".ledger_events
       (stream, seq, id, schema_version, run_id, trace_id, span_id, ts, type, tenant, actor, tool, payload_hash, prev_hash, hash, payload, salt)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, NULL, $12, $13, $14, convert_to($15, 'UTF8'), $16)`,
    [
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
      event.payloadHash,
      event.prevHash,
      event.hash,
      canonicalize(event.payload),
      event.salt,
    ],
  );
}

describePostgres('PostgreSQL ledger', () => {
  const schema = freshSchemaName();
  const pool = createTestPool(10);
  let stores: PostgresStores;
  let streamCounter = 0;
  const stream = (name = 'run') => `${name}-${++streamCounter}`;

  beforeAll(async () => {
    stores = createPostgresStores({ client: pool, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  describe('append, head and read', () => {
    it('reads back what was appended, byte for byte, and it verifies', async () => {
      const s = stream();
      const events = makeChain(s, 5);
      await stores.ledger.append(events);
      const back = await readAll(stores.ledger, { stream: s });
      expect(back).toEqual(events);
      expect(verifyLedger(back)).toMatchObject({ ok: true, events: 5, streams: 1 });
      expect(await stores.ledger.head(s)).toEqual(headOf(events));
      expect(await stores.ledger.head('no-such-stream')).toBeUndefined();
    });

    it('accepts an empty batch', async () => {
      await expect(stores.ledger.append([])).resolves.toBeUndefined();
    });

    it('is a no-op to re-append stored events, and continues after them', async () => {
      const s = stream();
      const events = makeChain(s, 6);
      await stores.ledger.append(events.slice(0, 5));
      await stores.ledger.append(events.slice(0, 5));
      await stores.ledger.append(events.slice(3, 6));
      expect(await readAll(stores.ledger, { stream: s })).toEqual(events);
    });

    it('pages in append order with opaque cursors', async () => {
      const s = stream();
      const events = makeChain(s, 10);
      await stores.ledger.append(events);
      const seen: LedgerEvent[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await stores.ledger.read({ stream: s, limit: 3, ...(cursor ? { cursor } : {}) });
        seen.push(...page.events);
        cursor = page.nextCursor;
        pages++;
      } while (cursor);
      expect(pages).toBe(4);
      expect(seen).toEqual(events);
      const exact = await stores.ledger.read({ stream: s, limit: 10 });
      expect(exact.events).toHaveLength(10);
      expect(exact.nextCursor).toBeUndefined();
    });

    it('rejects a bad limit or a cursor it did not issue', async () => {
      expect(await codeOf(stores.ledger.read({ limit: 0 }))).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(await codeOf(stores.ledger.read({ limit: 1.5 }))).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(await codeOf(stores.ledger.read({ cursor: 'abc' }))).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(await codeOf(stores.ledger.read({ cursor: "1'; DROP TABLE x; --" }))).toBe(
        'CUSTODY_INVALID_ARGUMENT',
      );
      expect(await codeOf(stores.ledger.tail({ cursor: '12' }))).toBe('CUSTODY_INVALID_ARGUMENT');
    });

    it('filters exactly as the in-memory ledger does', async () => {
      const own = createPostgresStores({ client: pool, schema: `${schema}_f` });
      await own.migrate();
      try {
        const memory = new InMemoryLedgerStore();
        const all: LedgerEvent[] = [];
        const heads = new Map<string, { seq: number; hash: string }>();
        const types = ['tool.requested', 'tool.result', 'policy.decided'];
        for (let i = 0; i < 60; i++) {
          const s = `r${i % 4}`;
          const event = makeEvent(
            s,
            heads.get(s),
            i % 3 === 0 ? { tool: `jira.t${i % 2}`, i } : { i, note: 'ünïcödé' },
            {
              type: types[i % 3]!,
              tenant: i % 5 === 0 ? 'globex' : 'acme',
              actor: i % 2 ? 'user:alice' : 'agent:a@1',
              runId: i % 7 === 0 ? null : s,
            },
          );
          heads.set(s, headOf([event]));
          all.push(event);
        }
        // Several batches, some spanning streams, as a runtime would write them.
        for (let i = 0; i < all.length; i += 7) {
          await own.ledger.append(all.slice(i, i + 7));
          memory.appendSync(all.slice(i, i + 7));
        }
        const mid = all[30]!.ts;
        const queries: LedgerQuery[] = [
          {},
          { runId: 'r1' },
          { stream: 'r2' },
          { tenant: 'globex' },
          { type: 'tool.result' },
          { type: ['tool.requested', 'policy.decided'] },
          { type: [] },
          { actor: 'user:alice' },
          { tool: 'jira.t0' },
          { tool: 'jira.t1', tenant: 'acme' },
          { from: mid },
          { to: mid },
          { from: all[10]!.ts, to: all[20]!.ts, stream: 'r3' },
          { traceId: '0af7651916cd43dd8448eb211c80319c', limit: 7 },
          { traceId: 'nope' },
        ];
        for (const query of queries) {
          expect(await readAll(own.ledger, query), JSON.stringify(query)).toEqual(
            await readAll(memory, query),
          );
        }
        expect(verifyLedger(await readAll(own.ledger)).ok).toBe(true);
      } finally {
        await own.close();
        await dropSchema(pool, `${schema}_f`);
      }
    });
  });

  describe('conflicts', () => {
    it('rejects an event that does not extend its stream, writing nothing from the batch', async () => {
      const s = stream();
      const events = makeChain(s, 4);
      await stores.ledger.append(events.slice(0, 2));
      const skipping = makeEvent(s, headOf(events)); // seq 4 right after seq 2
      // Valid first event, then a gap: the whole batch is refused.
      expect(await codeOf(stores.ledger.append([events[2]!, skipping]))).toBe('CUSTODY_LEDGER_CONFLICT');
      // Right seq, wrong prevHash.
      const forged = makeEvent(s, { seq: 1, hash: 'f'.repeat(64) });
      expect(await codeOf(stores.ledger.append([forged]))).toBe('CUSTODY_LEDGER_CONFLICT');
      // A new stream must start at seq 0 from the genesis hash.
      expect(
        await codeOf(stores.ledger.append([makeEvent(stream(), { seq: 0, hash: events[0]!.hash })])),
      ).toBe('CUSTODY_LEDGER_CONFLICT');
      expect(await readAll(stores.ledger, { stream: s })).toEqual(events.slice(0, 2));
    });

    it('rejects a stored id re-appended with another hash, and a fork of the same seq', async () => {
      const s = stream();
      const [first] = makeChain(s, 1);
      await stores.ledger.append([first!]);
      const rival = makeEvent(s, undefined, { other: true });
      expect(rival.id).toBe(first!.id);
      const error = await stores.ledger.append([rival]).catch((e: unknown) => e);
      expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_LEDGER_CONFLICT');
      expect((error as CustodyError).details).toMatchObject({ stream: s, seq: 0, eventId: first!.id });
      expect((error as Error).message).toMatch(/already stored with another hash/);
      expect(await readAll(stores.ledger, { stream: s })).toEqual([first]);
    });

    it('a racing writer that took the seq first makes the append a conflict', async () => {
      const s = stream('race');
      const theirs = makeEvent(s, undefined, { by: 'them' });
      const ours = makeEvent(s, undefined, { by: 'us' });
      const rival = await pool.connect();
      try {
        await rival.query('BEGIN');
        await rawInsert(rival, schema, theirs);
        // Our append reads no head (theirs is uncommitted), inserts seq 0 and waits on their row.
        const appending = stores.ledger.append([ours]).catch((e: unknown) => e);
        for (let i = 0; i < 500; i++) {
          const waiting = await pool.query(
            `SELECT count(*)::int AS n FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1`,
            [`%"${schema}".ledger_events%`],
          );
          if (waiting.rows[0].n > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 10));
        }
        await rival.query('COMMIT');
        const error = await appending;
        expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_LEDGER_CONFLICT');
      } finally {
        rival.release();
      }
      expect(await readAll(stores.ledger, { stream: s })).toEqual([theirs]);
    });
  });

  describe('batching', () => {
    it('merges concurrent appends into one commit, each resolving after it', async () => {
      const probe = instrument(pool);
      const batched = createPostgresStores({ client: probe.client, schema });
      const chains = Array.from({ length: 100 }, () => makeChain(stream('b'), 2));
      await Promise.all(chains.map((events) => batched.ledger.append(events)));
      expect(probe.commits()).toBe(1);
      // One multi-row INSERT for all 200 events.
      expect(probe.statements.filter((text) => text.startsWith('INSERT'))).toHaveLength(1);
      for (const events of chains) {
        expect(await readAll(stores.ledger, { stream: events[0]!.stream })).toEqual(events);
      }
      await batched.close();
    });

    it('caps a merged commit at maxBatchEvents, never splitting one append', async () => {
      const probe = instrument(pool);
      const batched = createPostgresStores({ client: probe.client, schema, maxBatchEvents: 10 });
      const chains = Array.from({ length: 20 }, () => makeChain(stream('c'), 3));
      chains.push(makeChain(stream('c'), 25));
      await Promise.all(chains.map((events) => batched.ledger.append(events)));
      // 3 appends of 3 per commit, and the 25-event append alone.
      expect(probe.commits()).toBe(8);
      await batched.close();
    });

    it('keeps appends of one stream in order when the caller does not await between them', async () => {
      const s = stream('pipelined');
      const events = makeChain(s, 30);
      await Promise.all(events.map((event) => stores.ledger.append([event])));
      expect(await readAll(stores.ledger, { stream: s })).toEqual(events);
    });

    it("a conflicting caller's batch fails alone; the others in the transaction commit", async () => {
      const probe = instrument(pool);
      const batched = createPostgresStores({ client: probe.client, schema });
      const good1 = makeChain(stream('ok'), 3);
      const badStream = stream('bad');
      const bad = [...makeChain(badStream, 2), makeEvent(badStream, { seq: 5, hash: 'a'.repeat(64) })];
      const good2 = makeChain(stream('ok'), 3);
      const results = await Promise.allSettled([
        batched.ledger.append(good1),
        batched.ledger.append(bad),
        batched.ledger.append(good2),
      ]);
      expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      expect(CustodyError.isInstance((results[1] as PromiseRejectedResult).reason)).toBe(true);
      expect(((results[1] as PromiseRejectedResult).reason as CustodyError).code).toBe(
        'CUSTODY_LEDGER_CONFLICT',
      );
      expect(probe.commits()).toBe(1);
      expect(await readAll(stores.ledger, { stream: badStream })).toEqual([]);
      expect(await readAll(stores.ledger, { stream: good1[0]!.stream })).toEqual(good1);
      expect(await readAll(stores.ledger, { stream: good2[0]!.stream })).toEqual(good2);
      await batched.close();
    });

    it('drops an append aborted while queued, and refuses one aborted already', async () => {
      const probe = instrument(pool);
      const batched = createPostgresStores({ client: probe.client, schema });
      const release = probe.hold();
      const first = makeChain(stream('abort'), 1);
      const second = makeChain(stream('abort'), 1);
      const writing = batched.ledger.append(first);
      await new Promise((resolve) => setTimeout(resolve, 0));
      const controller = new AbortController();
      const queued = batched.ledger.append(second, { signal: controller.signal });
      controller.abort();
      expect(await codeOf(queued)).toBe('CUSTODY_ABORTED');
      release();
      await writing;
      expect(await codeOf(batched.ledger.append(second, { signal: controller.signal }))).toBe(
        'CUSTODY_ABORTED',
      );
      expect(await readAll(stores.ledger, { stream: second[0]!.stream })).toEqual([]);
      expect(await readAll(stores.ledger, { stream: first[0]!.stream })).toEqual(first);
      await batched.close();
      expect(await codeOf(batched.ledger.append(makeChain(stream(), 1)))).toBe('CUSTODY_STORE_ERROR');
    });

    it('refuses events the columns cannot hold, and payloads that are not faithful JSON, before writing', async () => {
      const [event] = makeChain(stream(), 1);
      expect(await codeOf(stores.ledger.append([{ ...event!, seq: -1 }]))).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(await codeOf(stores.ledger.append([{ ...event!, stream: 42 as unknown as string }]))).toBe(
        'CUSTODY_INVALID_ARGUMENT',
      );
      expect(await codeOf(stores.ledger.append([{ ...event!, payload: { n: Number.NaN } }]))).toBe(
        'CUSTODY_CANONICAL_INVALID',
      );
      expect(await codeOf(stores.ledger.append('nope' as unknown as LedgerEvent[]))).toBe(
        'CUSTODY_INVALID_ARGUMENT',
      );
      expect(await stores.ledger.head(event!.stream)).toBeUndefined();
    });
  });

  describe('payloads', () => {
    it('round-trips a large payload byte for byte', { timeout: 30_000 }, async () => {
      const s = stream('large');
      const payload = {
        text: 'x'.repeat(4 * 1024 * 1024),
        rows: Array.from({ length: 20_000 }, (_, i) => ({ i, half: i / 2, flag: i % 2 === 0, none: null })),
        deep: JSON.parse('['.repeat(200) + '1' + ']'.repeat(200)),
      };
      const [event] = makeChain(s, 1, undefined, () => payload);
      await stores.ledger.append([event!]);
      const [back] = await readAll(stores.ledger, { stream: s });
      expect(canonicalize(back!.payload)).toBe(canonicalize(payload));
      expect(verifyLedger([back!]).ok).toBe(true);
      const stored = await pool.query(`SELECT payload FROM "${schema}".ledger_events WHERE id = $1`, [
        event!.id,
      ]);
      expect(Buffer.compare(stored.rows[0].payload, Buffer.from(canonicalize(payload), 'utf8'))).toBe(0);
    });

    it('round-trips unicode, escapes and key order exactly', async () => {
      const s = stream('unicode');
      const payload = {
        emoji: '👩‍👩‍👧‍👦 🏳️‍🌈 🇯🇵',
        scripts: '日本語 · العربية · עברית · Ελληνικά · हिन्दी · 한국어',
        combining: 'e\u0301 vs é',
        controls: '\u0000\u0001\t\n\r\u001f"\\/',
        separators: '\u2028\u2029',
        astral: '\u{1F600}\u{10FFFF}',
        numbers: [0, -0, 1e21, 1e-7, 0.1 + 0.2, Number.MAX_SAFE_INTEGER, 5e-324],
        ключ: 'значение',
        '\u00e9': 'key sorted by UTF-16',
        '\u{1F600}': 'astral key',
        '\uFB01': 'ligature key',
      };
      const events = makeChain(s, 3, undefined, () => payload);
      await stores.ledger.append(events);
      const back = await readAll(stores.ledger, { stream: s });
      expect(back.map((event) => canonicalize(event.payload))).toEqual(
        events.map(() => canonicalize(payload)),
      );
      expect(back[0]!.payload).toEqual(JSON.parse(canonicalize(payload)));
      expect(verifyLedger(back).ok).toBe(true);
    });
  });

  describe('append-only guards', () => {
    const table = () => `"${schema}".ledger_events`;

    it('reject a raw UPDATE of the envelope, a rewrite of the payload, DELETE and TRUNCATE', async () => {
      const s = stream('guard');
      const events = makeChain(s, 3, undefined, () => ({ tool: 'stripe.refund', amountCents: 500 }));
      await stores.ledger.append(events);
      const id = events[1]!.id;
      await expect(
        pool.query(`UPDATE ${table()} SET hash = repeat('0', 64) WHERE id = $1`, [id]),
      ).rejects.toThrow(/append-only: UPDATE/);
      await expect(
        pool.query(`UPDATE ${table()} SET payload = convert_to('{"amountCents":1}', 'UTF8') WHERE id = $1`, [
          id,
        ]),
      ).rejects.toThrow(/append-only/);
      // Even a plain erasure, by the schema owner: erasure runs through ledger_erase_payload() only.
      await expect(
        pool.query(
          `UPDATE ${table()} SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = $1`,
          [id],
        ),
      ).rejects.toThrow(/append-only: UPDATE/);
      // Erasing the payload but changing anything else at the same time is refused too.
      await expect(
        pool.query(
          `UPDATE ${table()} SET payload = NULL, salt = NULL, tool = NULL, actor = 'user:mallory' WHERE id = $1`,
          [id],
        ),
      ).rejects.toThrow(/append-only/);
      await expect(pool.query(`DELETE FROM ${table()} WHERE id = $1`, [id])).rejects.toThrow(
        /append-only: DELETE/,
      );
      await expect(pool.query(`TRUNCATE ${table()}`)).rejects.toThrow(/append-only: TRUNCATE/);
      const back = await readAll(stores.ledger, { stream: s });
      expect(back).toEqual(events);
      expect(verifyLedger(back).ok).toBe(true);
    });

    it('allow erasing a payload, after which the chain still verifies', async () => {
      const s = stream('erase');
      const events = makeChain(s, 3, undefined, (i) => ({
        tool: 'crm.lookup',
        email: `person${i}@example.com`,
      }));
      await stores.ledger.append(events);
      expect(await readAll(stores.ledger, { stream: s, tool: 'crm.lookup' })).toHaveLength(3);
      // As the runtime does: record the redaction in the stream, then erase.
      const record = makeEvent(
        s,
        headOf(events),
        { eventId: events[1]!.id, payloadHash: events[1]!.payloadHash, reason: 'erasure request' },
        {
          type: 'ledger.redacted',
        },
      );
      await stores.ledger.append([record]);
      expect(await stores.ledger.erasePayload(events[1]!.id)).toBe(true);
      expect(await stores.ledger.erasePayload(events[1]!.id)).toBe(true);
      expect(await stores.ledger.erasePayload('no-such-event')).toBe(false);
      const back = await readAll(stores.ledger, { stream: s });
      expect(back[1]).toEqual({ ...events[1], payload: null, salt: null });
      expect(verifyLedger(back)).toMatchObject({ ok: true, redacted: 1, redactedIds: [events[1]!.id] });
      // Without its redaction record, an erased payload is reported as tampering.
      expect(verifyLedger(back.slice(0, 3))).toMatchObject({
        ok: false,
        problem: { code: 'PAYLOAD_MISSING' },
      });
      // As in memory: an erased event no longer says which tool it was about.
      expect(await readAll(stores.ledger, { stream: s, tool: 'crm.lookup' })).toHaveLength(2);
      // Re-appending the original (payload and all) is still recognised as the same event.
      await stores.ledger.append(events);
    });

    it('detects tampering that bypasses the guards, as the proof must', async () => {
      const s = stream('tamper');
      const events = makeChain(s, 3);
      await stores.ledger.append(events);
      const admin = await pool.connect();
      try {
        await admin.query('BEGIN');
        // What a superuser can do: switch triggers off for the session.
        await admin.query(`SET LOCAL session_replication_role = replica`);
        await admin.query(`UPDATE ${table()} SET actor = 'user:mallory' WHERE id = $1`, [events[1]!.id]);
        await admin.query('COMMIT');
      } finally {
        admin.release();
      }
      const result = verifyLedger(await readAll(stores.ledger, { stream: s }));
      expect(result.ok).toBe(false);
      expect(!result.ok && result.problem).toMatchObject({ code: 'HASH_MISMATCH', eventId: events[1]!.id });
    });
  });

  describe('checkpoints', () => {
    it('gives every stream head, stores signed checkpoints as signed, and they catch a truncated tail', async () => {
      const own = createPostgresStores({ client: pool, schema: `${schema}_c` });
      await own.migrate();
      try {
        expect(await own.ledger.heads()).toEqual({});
        expect(await own.ledger.listCheckpoints()).toEqual([]);
        const streams = ['a', 'b', 'c', 'd'].map((name, i) => makeChain(`${name}-run`, i + 2));
        for (const events of streams) await own.ledger.append(events);
        const heads = await own.ledger.heads();
        expect(heads).toEqual(
          Object.fromEntries(streams.map((events) => [events[0]!.stream, headOf(events)])),
        );

        const { privateKey, publicKey } = generateKeyPairSync('ed25519');
        const signer = createEd25519Signer({ keyId: 'k1', privateKey });
        const first = await signCheckpoint(
          {
            schemaVersion: 1,
            createdAt: '2025-01-01T00:00:00.000Z',
            count: checkpointCount(heads),
            heads,
            root: checkpointRoot(heads),
          },
          signer,
        );
        await own.ledger.appendCheckpoint(first);
        const more = makeChain('a-run', 2, headOf(streams[0]!));
        await own.ledger.append(more);
        const second = await signCheckpoint(createCheckpoint(await readAll(own.ledger)), signer);
        await own.ledger.appendCheckpoint(second);
        const stored = await own.ledger.listCheckpoints();
        expect(stored).toEqual([first, second]);

        const keys = { k1: publicKey };
        expect(verifyLedger(await readAll(own.ledger), { checkpoints: stored, keys })).toMatchObject({
          ok: true,
          checkpoints: 2,
          signedCheckpoints: 2,
        });

        // Checkpoints are append-only.
        await expect(pool.query(`DELETE FROM "${schema}_c".ledger_checkpoints`)).rejects.toThrow(
          /append-only/,
        );
        await expect(
          pool.query(`UPDATE "${schema}_c".ledger_checkpoints SET created_at = 'x'`),
        ).rejects.toThrow(/append-only/);

        // A superuser bypasses the guard and drops the tail of a stream: the checkpoint says so.
        const admin = await pool.connect();
        try {
          await admin.query('BEGIN');
          await admin.query('SET LOCAL session_replication_role = replica');
          await admin.query(`DELETE FROM "${schema}_c".ledger_events WHERE stream = 'a-run' AND seq >= 2`);
          await admin.query('COMMIT');
        } finally {
          admin.release();
        }
        const truncated = verifyLedger(await readAll(own.ledger), { checkpoints: stored, keys });
        expect(truncated).toMatchObject({ ok: false, problem: { code: 'TRUNCATED' } });
      } finally {
        await own.close();
        await dropSchema(pool, `${schema}_c`);
      }
    });
  });

  describe('tail', () => {
    it('holds back events committed after an older transaction that is still open, then delivers all of them', async () => {
      const tenant = `tail-${schema}`;
      const first = makeEvent(stream('t'), undefined, { n: 1 }, { tenant });
      await stores.ledger.append([first]);
      const start = await stores.ledger.tail({ tenant });
      expect(start.events).toEqual([first]);
      const cursor = start.nextCursor!;
      expect(cursor).toMatch(/^t\d+\.\d+$/);

      const late = makeEvent(stream('t'), undefined, { n: 2 }, { tenant });
      const early = makeEvent(stream('t'), undefined, { n: 3 }, { tenant });
      const slow = await pool.connect();
      try {
        // `late` gets the lower position but commits after `early`.
        await slow.query('BEGIN');
        await rawInsert(slow, schema, late);
        await stores.ledger.append([early]);
        // read() shows what has committed (read-your-writes); a cursor past `early` would skip `late`.
        const seen = await readAll(stores.ledger, { tenant });
        expect(seen).toEqual([first, early]);
        // tail() waits for the older transaction instead.
        expect((await stores.ledger.tail({ tenant, cursor })).events).toEqual([]);
        await slow.query('COMMIT');
      } finally {
        slow.release();
      }
      const delivered: LedgerEvent[] = [];
      let at = cursor;
      for (let i = 0; i < 200 && delivered.length < 2; i++) {
        const page = await stores.ledger.tail({ tenant, cursor: at, limit: 1 });
        delivered.push(...page.events);
        at = page.nextCursor ?? at;
        if (page.events.length === 0) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(delivered).toEqual([late, early]);
      expect((await stores.ledger.tail({ tenant, cursor: at })).events).toEqual([]);
    });
  });

  describe('connection string', () => {
    it('loads pg lazily, owns its pool and ends it on close', async () => {
      const own = createPostgresStores({
        connectionString: process.env.CUSTODY_TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test',
        poolOptions: { max: 2 },
        schema,
      });
      const events = makeChain(stream('url'), 2);
      await own.migrate();
      await own.ledger.append(events);
      expect(await readAll(own.ledger, { stream: events[0]!.stream })).toEqual(events);
      await own.close();
      await own.close();
      expect(await codeOf(own.ledger.head('x'))).toBe('CUSTODY_STORE_ERROR');
    });
  });
});
