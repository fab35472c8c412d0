import { type IdempotencyClaimRequest, type IdempotencyStore, InMemoryIdempotencyStore } from '@custody/core';
import type pg from 'pg';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

const T0 = Date.UTC(2025, 0, 1);

describePostgres('PostgreSQL idempotency store', () => {
  const schema = freshSchemaName();
  const pools: pg.Pool[] = [];
  let stores: PostgresStores;
  let keys = 0;
  const nextKey = () => `key-${++keys}`;

  beforeAll(async () => {
    pools.push(createTestPool(5));
    stores = createPostgresStores({ client: pools[0]!, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    if (pools[0]) await dropSchema(pools[0], schema);
    await Promise.all(pools.map((pool) => pool.end()));
  });

  const claim = (key: string, fields: Partial<IdempotencyClaimRequest> = {}): IdempotencyClaimRequest => ({
    tenant: 'acme',
    key,
    fingerprint: 'fp-1',
    callId: 'call-1',
    leaseMs: 30_000,
    now: T0,
    ...fields,
  });

  it('answers every step of a key’s life exactly as the in-memory store does', async () => {
    // The same script against both stores; every answer must match.
    const script = async (store: IdempotencyStore, key: string) => {
      const answers: unknown[] = [];
      answers.push(await store.claim(claim(key)));
      answers.push(await store.claim(claim(key, { callId: 'call-2', now: T0 + 10 })));
      answers.push(await store.claim(claim(key, { fingerprint: 'fp-other', now: T0 + 10 })));
      answers.push(await store.claim(claim(key, { tenant: 'globex', callId: 'call-g' })));
      // The lease runs out: someone else may take the key over.
      answers.push(await store.claim(claim(key, { callId: 'call-3', now: T0 + 30_000 })));
      await store.release({ tenant: 'acme', key, callId: 'call-1' }); // not the owner any more: no effect
      answers.push(await store.claim(claim(key, { callId: 'call-4', now: T0 + 30_001 })));
      await store.complete({
        tenant: 'acme',
        key,
        fingerprint: 'fp-1',
        outcome: { status: 'ok', output: { refundId: 're_1', note: 'ünï 🧾', list: [1, 2.5, null] } },
        callId: 'call-3',
        completedAt: T0 + 31_000,
        ttlMs: 86_400_000,
      });
      answers.push(await store.claim(claim(key, { callId: 'call-5', now: T0 + 40_000 })));
      answers.push(await store.claim(claim(key, { fingerprint: 'fp-other', now: T0 + 40_000 })));
      // The record expires: the key is fresh again.
      answers.push(await store.claim(claim(key, { callId: 'call-6', now: T0 + 31_000 + 86_400_000 })));
      await store.release({ tenant: 'acme', key, callId: 'call-6' });
      answers.push(
        await store.claim(claim(key, { callId: 'call-7', fingerprint: 'fp-2', now: T0 + 90_000_000 })),
      );
      await store.complete({
        tenant: 'acme',
        key,
        fingerprint: 'fp-2',
        outcome: { status: 'failed', code: 'CUSTODY_EXECUTION_FAILED', message: 'boom' },
        callId: 'call-7',
        completedAt: T0 + 90_000_001,
        ttlMs: 1000,
      });
      answers.push(await store.claim(claim(key, { fingerprint: 'fp-2', now: T0 + 90_000_500 })));
      return answers;
    };
    const key = nextKey();
    const expected = await script(new InMemoryIdempotencyStore(), key);
    expect(await script(stores.idempotency, key)).toEqual(expected);
    expect(expected.map((answer) => (answer as { status: string }).status)).toEqual([
      'claimed',
      'in_progress',
      'conflict',
      'claimed',
      'claimed',
      'in_progress',
      'completed',
      'conflict',
      'claimed',
      'claimed',
      'completed',
    ]);
  });

  it('gives a key to exactly one of many instances claiming it at once, fresh or expired', async () => {
    const instances = [stores];
    for (let i = 0; i < 5; i++) {
      const pool = createTestPool(3);
      pools.push(pool);
      instances.push(createPostgresStores({ client: pool, schema }));
    }
    for (let round = 0; round < 20; round++) {
      const key = nextKey();
      const now = T0 + round;
      const answers = await Promise.all(
        instances.flatMap((s, i) =>
          [0, 1].map((j) => s.idempotency.claim(claim(key, { callId: `c${i}.${j}`, now }))),
        ),
      );
      const statuses = answers.map((answer) => answer.status);
      expect(statuses.filter((status) => status === 'claimed')).toHaveLength(1);
      expect(statuses.filter((status) => status === 'in_progress')).toHaveLength(statuses.length - 1);
      // Later, the lease has expired: again exactly one takes it over.
      const later = await Promise.all(
        instances.map((s, i) => s.idempotency.claim(claim(key, { callId: `late${i}`, now: now + 60_000 }))),
      );
      expect(later.filter((answer) => answer.status === 'claimed')).toHaveLength(1);
    }
  });

  it('prunes expired records and leases only', async () => {
    const live = nextKey();
    const expired = nextKey();
    const done = nextKey();
    await stores.idempotency.claim(claim(live, { tenant: 'prune', now: T0 + 1_000_000 }));
    await stores.idempotency.claim(claim(expired, { tenant: 'prune' }));
    await stores.idempotency.complete({
      tenant: 'prune',
      key: done,
      fingerprint: 'fp-1',
      outcome: null,
      callId: 'call-1',
      completedAt: T0,
      ttlMs: 10,
    });
    expect(await stores.idempotency.prune({ now: T0 + 100_000 })).toBeGreaterThanOrEqual(2);
    expect(
      await stores.idempotency.claim(claim(live, { tenant: 'prune', callId: 'x', now: T0 + 100_000 })),
    ).toMatchObject({
      status: 'in_progress',
    });
  });

  it('rejects times that are not integers', async () => {
    await expect(stores.idempotency.claim(claim(nextKey(), { now: Number.NaN }))).rejects.toMatchObject({
      code: 'CUSTODY_INVALID_ARGUMENT',
    });
  });
});
