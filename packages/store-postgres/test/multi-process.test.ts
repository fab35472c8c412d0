import { type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import { spawnTypeScript } from './spawn-typescript.js';
import {
  createTestPool,
  describePostgres,
  dropSchema,
  freshSchemaName,
  POSTGRES_URL,
} from './test-database.js';

const PROCESSES = 4;
/** Appends per loop; each process runs two loops at once. */
const APPENDS = 25;

describePostgres('PostgreSQL ledger with several OS processes appending at once', () => {
  const schema = freshSchemaName();
  const pool = createTestPool(2);
  let stores: PostgresStores;

  beforeAll(async () => {
    stores = createPostgresStores({ client: pool, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it(`${PROCESSES} processes on overlapping streams: zero forks, zero lost acknowledged events, and it verifies`, {
    timeout: 60_000,
  }, async () => {
    const acknowledged = new Map<string, string>();
    const conflicts: number[] = [];
    const children = Array.from({ length: PROCESSES }, (_, writer) => {
      const child = spawnTypeScript('multi-process-writer.ts', [
        POSTGRES_URL,
        schema,
        String(writer),
        String(APPENDS),
      ]);
      child.onLine((line) => {
        if (line.startsWith('ack ')) {
          for (const pair of line.slice(4).split(' ')) {
            const [id, hash] = pair.split('=') as [string, string];
            expect(acknowledged.has(id), `${id} acknowledged twice`).toBe(false);
            acknowledged.set(id, hash);
          }
        } else if (line.startsWith('done ')) {
          conflicts.push(Number(line.slice(5)));
        }
      });
      return { child, ready: child.waitFor((line) => line === 'ready', `writer ${writer} connecting`) };
    });
    try {
      await Promise.all(children.map(({ ready }) => ready));
      for (const { child } of children) child.process.stdin.end('go\n');
      const exits = await Promise.all(children.map(({ child }) => child.exited));
      exits.forEach(({ code, signal }, writer) => {
        expect(code, `writer ${writer} (${signal ?? 'no signal'}): ${children[writer]!.child.stderr()}`).toBe(
          0,
        );
      });
    } finally {
      for (const { child } of children) child.process.kill('SIGKILL');
    }

    expect(conflicts, 'every process finished').toHaveLength(PROCESSES);
    // The processes really raced: appends lost to another writer and were retried.
    expect(
      conflicts.reduce((sum, n) => sum + n, 0),
      'conflicts retried',
    ).toBeGreaterThan(0);

    const all = await readAll(stores.ledger);
    // Zero lost, nothing extra: what is stored is exactly what the processes saw acknowledged.
    expect(new Map(all.map((event) => [event.id, event.hash]))).toEqual(acknowledged);
    // Zero forks: each stream is seq 0..n-1, once each, in append order.
    const byStream = new Map<string, LedgerEvent[]>();
    for (const event of all) byStream.set(event.stream, [...(byStream.get(event.stream) ?? []), event]);
    for (const [stream, events] of byStream) {
      expect(
        events.map((event) => event.seq),
        stream,
      ).toEqual(events.map((_, i) => i));
      expect((await stores.ledger.head(stream))?.seq, `head of ${stream}`).toBe(events.length - 1);
    }
    // The shared streams hold events of several processes.
    for (const stream of ['mp-hot-a', 'mp-hot-b', 'mp-hot-c']) {
      const writers = new Set(
        byStream.get(stream)?.map((event) => (event.payload as { writer: number }).writer),
      );
      expect(writers.size, `processes that wrote ${stream}`).toBeGreaterThan(1);
    }
    expect(verifyLedger(all)).toMatchObject({ ok: true, events: acknowledged.size, streams: byStream.size });
  });
});
