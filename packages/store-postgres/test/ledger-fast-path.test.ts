import {
  type ChainHead,
  CustodyError,
  createLedger,
  type LedgerEvent,
  readAll,
  verifyLedger,
} from '@custody/core';
import { operatorKey, recordPrune } from '@custody/store-conformance';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStores, type PostgresPool, type PostgresStores } from '../src/index.js';
import { headOf, makeChain, makeEvent } from './events.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

/**
 * A pool that counts what reaches the server: INSERTs sent straight to the pool (the fast path:
 * one autocommit statement), those refused with unique_violation and those the guard let write
 * nothing, and the transactions begun on checked-out connections (the path that reads first).
 */
function observe(pool: pg.Pool) {
  const seen = { inserts: 0, uniqueViolations: 0, emptyInserts: 0, transactions: 0 };
  const client: PostgresPool = {
    query: async (text, params) => {
      if (!text.startsWith('INSERT')) return pool.query(text, params);
      seen.inserts++;
      try {
        const result = await pool.query(text, params);
        if (result.rowCount === 0) seen.emptyInserts++;
        return result;
      } catch (error) {
        if ((error as { code?: unknown }).code === '23505') seen.uniqueViolations++;
        throw error;
      }
    },
    connect: async () => {
      const connection = await pool.connect();
      return {
        query: (text, params) => {
          if (text === 'BEGIN') seen.transactions++;
          return connection.query(text, params);
        },
        release: (error) => connection.release(error),
      };
    },
  };
  return { client, seen };
}

async function settle(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
    return undefined;
  } catch (error) {
    return error;
  }
}

function isConflict(error: unknown): boolean {
  return CustodyError.isInstance(error) && error.code === 'CUSTODY_LEDGER_CONFLICT';
}

describePostgres('PostgreSQL ledger fast path (one INSERT on remembered heads)', () => {
  const schema = freshSchemaName();
  // Two app instances on one schema: each its own pool, its own store, its own remembered heads.
  const poolA = createTestPool(4);
  const poolB = createTestPool(4);
  const a = observe(poolA);
  const b = observe(poolB);
  let storesA: PostgresStores;
  let storesB: PostgresStores;
  let counter = 0;
  const stream = (name = 'run') => `${name}-${++counter}`;

  beforeAll(async () => {
    storesA = createPostgresStores({ client: a.client, schema });
    storesB = createPostgresStores({ client: b.client, schema });
    await storesA.migrate();
  });

  afterAll(async () => {
    await storesA?.close();
    await storesB?.close();
    await dropSchema(poolA, schema);
    await Promise.all([poolA.end(), poolB.end()]);
  });

  /** The counters' change while `work` runs. */
  async function delta(side: typeof a, work: () => Promise<void>) {
    const before = { ...side.seen };
    await work();
    return {
      inserts: side.seen.inserts - before.inserts,
      uniqueViolations: side.seen.uniqueViolations - before.uniqueViolations,
      emptyInserts: side.seen.emptyInserts - before.emptyInserts,
      transactions: side.seen.transactions - before.transactions,
    };
  }

  it('extends a stream only it writes with one statement per flush, and still merges concurrent appends', async () => {
    const s = stream('solo');
    const events = makeChain(s, 6);
    const solo = await delta(a, async () => {
      await storesA.ledger.append([events[0]!]);
      await storesA.ledger.append(events.slice(1, 4));
      for (const event of events.slice(4)) await storesA.ledger.append([event]);
    });
    expect(solo).toEqual({ inserts: 4, uniqueViolations: 0, emptyInserts: 0, transactions: 0 });
    expect(await readAll(storesB.ledger, { stream: s })).toEqual(events);

    const chains = Array.from({ length: 50 }, () => makeChain(stream('merged'), 2));
    const merged = await delta(a, async () => {
      await Promise.all(chains.map((chain) => storesA.ledger.append(chain)));
    });
    // Group commit is kept: the 50 callers share one statement.
    expect(merged).toEqual({ inserts: 1, uniqueViolations: 0, emptyInserts: 0, transactions: 0 });
    for (const chain of chains)
      expect(await readAll(storesB.ledger, { stream: chain[0]!.stream })).toEqual(chain);
  });

  it('two stores taking turns on one stream, each remembering a stale head, never fork or lose an event', {
    timeout: 30_000,
  }, async () => {
    const s = stream('shared');
    const ledgers = [storesA.ledger, storesB.ledger];
    const acknowledged = new Map<string, LedgerEvent>();
    // Each writer's own idea of the head: what it last wrote, or read after losing.
    const views: (ChainHead | undefined)[] = [undefined, undefined];
    let conflicts = 0;

    const appendFrom = async (writer: number, payload: Record<string, unknown>, size: number) => {
      for (;;) {
        const batch = makeChain(s, size, views[writer], () => ({ ...payload, writer }));
        const error = await settle(ledgers[writer]!.append(batch));
        if (error === undefined) {
          for (const event of batch) acknowledged.set(event.id, event);
          views[writer] = headOf(batch);
          return;
        }
        if (!isConflict(error)) throw error;
        conflicts++;
        views[writer] = await ledgers[writer]!.head(s);
      }
    };

    // Strict turns: whoever writes next holds a head the other has moved past, so its first try
    // is the fast path's INSERT, which the other's row at that seq refuses.
    const before = { a: { ...a.seen }, b: { ...b.seen } };
    const ROUNDS = 20;
    for (let round = 0; round < ROUNDS; round++) await appendFrom(round % 2, { round }, 1 + (round % 3));
    expect(conflicts).toBe(ROUNDS - 1);
    const violations =
      a.seen.uniqueViolations -
      before.a.uniqueViolations +
      b.seen.uniqueViolations -
      before.b.uniqueViolations;
    expect(violations, 'stale heads were tried and refused by the database').toBe(ROUNDS - 1);

    // Then both at once, each with its own retries.
    await Promise.all(
      [0, 1].map(async (writer) => {
        for (let n = 0; n < 25; n++) await appendFrom(writer, { n }, 1 + ((n + writer) % 2));
      }),
    );

    const stored = await readAll(storesA.ledger, { stream: s });
    expect(stored.map((event) => event.seq)).toEqual(stored.map((_, i) => i));
    expect(new Set(stored.map((event) => event.id)).size).toBe(stored.length);
    expect(stored).toHaveLength(acknowledged.size);
    for (const event of stored) expect(event).toEqual(acknowledged.get(event.id));
    expect(verifyLedger(stored)).toMatchObject({ ok: true, events: acknowledged.size, streams: 1 });
    expect(await storesB.ledger.head(s)).toEqual(headOf(stored));
  });

  it('resolves an idempotent re-append, whether the store remembers the head or one before it', async () => {
    const s = stream('again');
    const events = makeChain(s, 3);
    await storesA.ledger.append(events);
    // A remembers the head: the re-append does not fit it and goes to the transaction.
    await storesA.ledger.append(events);
    await storesA.ledger.append([events[2]!]);

    // A remembers an older head: the re-append fits it, the INSERT is refused, the transaction
    // finds the events stored with the same hashes.
    const t = stream('again');
    const chain = makeChain(t, 4);
    await storesA.ledger.append([chain[0]!]);
    await storesB.ledger.append(chain.slice(1, 3));
    const refused = await delta(a, () => storesA.ledger.append(chain.slice(1, 3)));
    expect(refused).toMatchObject({ uniqueViolations: 1, transactions: 1 });
    // A stored prefix with a fresh event after it: the fresh one goes in, once.
    await storesA.ledger.append(chain);
    // B has never seen the stream: seq 0 takes the fast path, and is refused there.
    await storesB.ledger.append(events);

    expect(await readAll(storesB.ledger, { stream: s })).toEqual(events);
    expect(await readAll(storesB.ledger, { stream: t })).toEqual(chain);
    // And A now remembers the real head: the next event is one statement again.
    const next = makeEvent(t, headOf(chain));
    expect(await delta(a, () => storesA.ledger.append([next]))).toMatchObject({
      inserts: 1,
      transactions: 0,
    });
  });

  it('rejects an event stored under its id with another hash, the stale head notwithstanding', async () => {
    const s = stream('impostor');
    const [first, second] = makeChain(s, 2);
    await storesB.ledger.append([first!]);
    await storesA.ledger.append([second!]);
    // B remembers seq 0 as the head, so the impostor at seq 1 fits it: the database refuses it.
    const impostor = makeEvent(s, headOf([first!]), { forged: true });
    expect(impostor.id).toBe(second!.id);
    expect(impostor.hash).not.toBe(second!.hash);
    for (const ledger of [storesB.ledger, storesB.ledger, storesA.ledger]) {
      const error = await settle(ledger.append([impostor]));
      expect(isConflict(error)).toBe(true);
      expect((error as Error).message).toMatch(/already stored with another hash/);
      expect((error as CustodyError).details).toMatchObject({ stream: s, seq: 1, eventId: second!.id });
    }
    // Beside an honest caller in one flush: only the impostor's caller is rejected.
    const other = makeChain(stream('honest'), 2);
    const results = await Promise.allSettled([
      storesB.ledger.append([impostor]),
      storesB.ledger.append(other),
    ]);
    expect(results.map((result) => result.status)).toEqual(['rejected', 'fulfilled']);
    expect(await readAll(storesA.ledger, { stream: s })).toEqual([first, second]);
    expect(await readAll(storesA.ledger, { stream: other[0]!.stream })).toEqual(other);
  });

  it('after deleteStreams, by this store or another, the stream starts over at seq 0 and nowhere else', async () => {
    const s = stream('deleted');
    const old = makeChain(s, 3);
    await storesA.ledger.append(old);
    await recordPrune(storesA.ledger, 'acme', [old]);
    expect(await storesA.ledger.deleteStreams([s])).toBe(3);
    expect(await storesA.ledger.head(s)).toBeUndefined();
    const continuation = makeEvent(s, headOf(old));
    expect(isConflict(await settle(storesA.ledger.append([continuation])))).toBe(true);
    const fresh = makeChain(s, 2);
    await storesA.ledger.append(fresh);
    expect(await readAll(storesB.ledger, { stream: s })).toEqual(fresh);

    // Deleted by the other instance: A still remembers the head it wrote. The INSERT's guard finds
    // that head gone and writes nothing; the transaction rejects the orphan.
    const u = stream('deleted');
    const kept = makeChain(u, 3);
    await storesA.ledger.append(kept);
    await recordPrune(storesB.ledger, 'acme', [kept]);
    expect(await storesB.ledger.deleteStreams([u])).toBe(3);
    const orphan = makeEvent(u, headOf(kept));
    const guarded = await delta(a, async () => {
      expect(isConflict(await settle(storesA.ledger.append([orphan])))).toBe(true);
    });
    expect(guarded).toEqual({ inserts: 1, uniqueViolations: 0, emptyInserts: 1, transactions: 1 });
    expect(await readAll(storesB.ledger, { stream: u })).toEqual([]);
    const restarted = makeChain(u, 2);
    await storesA.ledger.append(restarted);
    expect(await readAll(storesB.ledger, { stream: u })).toEqual(restarted);
    expect(verifyLedger(await readAll(storesB.ledger, { stream: u })).ok).toBe(true);
  });

  it('after prune, the run stream can be written again from seq 0', async () => {
    const tenant = `prune-${++counter}`;
    const s = stream('pruned');
    const run = [makeEvent(s, undefined, { n: 0 }, { tenant })];
    run.push(makeEvent(s, headOf(run), { n: 1 }, { tenant, type: 'run.ended' }));
    await storesA.ledger.append(run);
    const ledger = createLedger({ store: storesA.ledger, signer: operatorKey().signer });
    const pruned = await ledger.prune({
      tenant,
      before: new Date(Date.now() + 60_000).toISOString(),
      requestedBy: 'user:dpo@acme.com',
      reason: 'retention',
    });
    expect(pruned).toEqual({ runs: 1, events: 2 });
    const continuation = makeEvent(s, headOf(run), { n: 2 }, { tenant });
    expect(isConflict(await settle(storesA.ledger.append([continuation])))).toBe(true);
    const again = [makeEvent(s, undefined, { n: 0 }, { tenant })];
    await storesA.ledger.append(again);
    expect(await readAll(storesB.ledger, { stream: s })).toEqual(again);
  });
});
