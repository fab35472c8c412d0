import { CustodyError, type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import { makeChain, makeEvent } from './events.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

const INSTANCES = 4;
const WRITERS_PER_INSTANCE = 6;
const APPENDS_PER_WRITER = 20;
const HOT_STREAMS = ['hot-a', 'hot-b', 'hot-c'];

/** A small deterministic PRNG, so a failure replays the same interleaving choices. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describePostgres('PostgreSQL ledger with many instances appending at once', () => {
  const schema = freshSchemaName();
  const pools: pg.Pool[] = [];
  const instances: PostgresStores[] = [];

  beforeAll(async () => {
    for (let i = 0; i < INSTANCES; i++) {
      const pool = createTestPool(4);
      pools.push(pool);
      instances.push(createPostgresStores({ client: pool, schema }));
    }
    // Every instance migrates at start-up, at the same time.
    await Promise.all(instances.map((stores) => stores.migrate()));
  });

  afterAll(async () => {
    await Promise.all(instances.map((stores) => stores.close()));
    if (pools[0]) await dropSchema(pools[0], schema);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  // Thousands of deliberate conflicts and retries: give it room on a slow machine.
  it('never forks or loses an event, and everything read back verifies, also through tail()', {
    timeout: 60_000,
  }, async () => {
    const committed = new Map<string, LedgerEvent>();
    let conflicts = 0;
    let writing = true;

    // A reader polling tail() from another pool while the writers run.
    const tailed: LedgerEvent[] = [];
    const tailer = (async () => {
      let cursor: string | undefined;
      const reader = instances[INSTANCES - 1]!.ledger;
      for (let idle = 0; idle < 400; ) {
        const page = await reader.tail({ limit: 50, ...(cursor ? { cursor } : {}) });
        tailed.push(...page.events);
        cursor = page.nextCursor ?? cursor;
        if (page.events.length === 0) {
          if (!writing && tailed.length >= committed.size) return;
          if (!writing) idle++;
          await new Promise((resolve) => setTimeout(resolve, 5));
        }
      }
    })();

    const writer = async (instance: number, id: number) => {
      const random = prng(instance * 1000 + id);
      const ledger = instances[instance]!.ledger;
      for (let n = 0; n < APPENDS_PER_WRITER; n++) {
        // Mostly the shared hot streams; sometimes a stream of one's own.
        const stream =
          random() < 0.8 ? HOT_STREAMS[Math.floor(random() * HOT_STREAMS.length)]! : `own-${instance}-${id}`;
        const size = random() < 0.3 ? 3 : 1;
        for (;;) {
          const head = await ledger.head(stream);
          const batch: LedgerEvent[] = [];
          let prev = head;
          for (let k = 0; k < size; k++) {
            const event = makeEvent(stream, prev, { instance, writer: id, n, k });
            batch.push(event);
            prev = { seq: event.seq, hash: event.hash };
          }
          try {
            await ledger.append(batch);
            for (const event of batch) committed.set(event.id, event);
            break;
          } catch (error) {
            if (CustodyError.isInstance(error) && error.code === 'CUSTODY_LEDGER_CONFLICT') {
              conflicts++;
              continue;
            }
            throw error;
          }
        }
      }
    };

    const writers: Promise<void>[] = [];
    for (let i = 0; i < INSTANCES; i++) {
      for (let w = 0; w < WRITERS_PER_INSTANCE; w++) writers.push(writer(i, w));
    }
    await Promise.all(writers);
    writing = false;
    await tailer;

    // The writers really raced each other.
    expect(conflicts).toBeGreaterThan(0);

    const all = await readAll(instances[0]!.ledger);
    // Zero lost: every append that resolved is there, as appended; nothing else is.
    expect(all).toHaveLength(committed.size);
    for (const event of all) expect(event).toEqual(committed.get(event.id));
    // Zero forks: each stream is exactly seq 0..n-1, once each.
    const byStream = new Map<string, number[]>();
    for (const event of all) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event.seq]);
    for (const [stream, seqs] of byStream) {
      expect(seqs, stream).toEqual(seqs.map((_, i) => i));
      expect((await instances[1]!.ledger.head(stream))?.seq).toBe(seqs.length - 1);
    }
    expect(verifyLedger(all)).toMatchObject({ ok: true, events: committed.size, streams: byStream.size });

    // The tail saw every event exactly once, each stream in order.
    expect(new Set(tailed.map((event) => event.id)).size).toBe(tailed.length);
    expect(tailed).toHaveLength(committed.size);
    expect(verifyLedger(tailed).ok).toBe(true);
  });

  it('lets instances re-append the same events at the same time: stored once, every caller resolves', async () => {
    for (let round = 0; round < 10; round++) {
      const events = makeChain(`same-${round}`, 3);
      await Promise.all(instances.map((stores) => stores.ledger.append(events)));
      expect(await readAll(instances[0]!.ledger, { stream: `same-${round}` })).toEqual(events);
    }
  });

  it('lets exactly one of several instances take a seq when they race for it', async () => {
    for (let round = 0; round < 10; round++) {
      const stream = `duel-${round}`;
      const rivals = instances.map((_, i) => makeEvent(stream, undefined, { instance: i }));
      const results = await Promise.allSettled(
        instances.map((stores, i) => stores.ledger.append([rivals[i]!])),
      );
      const winners = results.filter((result) => result.status === 'fulfilled');
      expect(winners).toHaveLength(1);
      for (const result of results) {
        if (result.status === 'rejected')
          expect((result.reason as CustodyError).code).toBe('CUSTODY_LEDGER_CONFLICT');
      }
      const stored = await readAll(instances[0]!.ledger, { stream });
      expect(stored).toHaveLength(1);
      expect(rivals).toContainEqual(stored[0]);
    }
  });
});
