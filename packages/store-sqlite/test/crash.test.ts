import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteLedgerStore } from '../src/index.js';
import { spawnTypeScript } from './spawn-typescript.js';

const KILLS = 20;
/** Most milliseconds a writer runs before it is killed; a few are killed almost at once. */
const MAX_LIFE_MS = 200;
/** Writers loading at once, ahead of their turn. */
const PRELOAD = 3;

/** A small deterministic PRNG; the seed is printed with every failure, so a run can be replayed. */
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

/** `id=hash id=hash …` → [[id, hash], …] */
function parseEvents(text: string): [string, string][] {
  return text.split(' ').map((pair) => pair.split('=') as [string, string]);
}

const dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-crash-'));
const path = join(dir, 'ledger.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite ledger under SIGKILL', () => {
  it(`loses no acknowledged event and half-writes nothing across ${KILLS} kills at random moments`, {
    timeout: 90_000,
  }, async () => {
    const seed = Number(process.env.CUSTODY_CRASH_SEED ?? Date.now() % 1_000_000);
    const random = prng(seed);
    const context = `seed ${seed} (replay with CUSTODY_CRASH_SEED=${seed})`;
    /** Every event a writer saw `append` resolve for, with its hash. */
    const acknowledged = new Map<string, string>();
    /** Every batch a writer started to append: all of it is stored, or none. */
    const attempted: [string, string][][] = [];
    let checkpoints = 0;

    const writer = (round: number) => {
      const child = spawnTypeScript('crash-writer.ts', [path, String(seed * 100 + round)]);
      // Listen from the start: a preloaded writer prints `loaded` long before its turn.
      const loaded = child.waitFor((line) => line === 'loaded', `loading writer ${round}`);
      const ready = child
        .waitFor((line) => line === 'ready', `writer ${round} opening the file`)
        .catch(() => 'killed before it was ready');
      child.onLine((line) => {
        if (line.startsWith('ack ')) {
          for (const [id, hash] of parseEvents(line.slice(4))) acknowledged.set(id, hash);
        } else if (line.startsWith('try ')) {
          attempted.push(parseEvents(line.slice(4)));
        } else if (line === 'checkpoint') {
          checkpoints++;
        }
      });
      return { child, loaded, ready };
    };

    const check = async (round: number): Promise<void> => {
      const what = `after kill ${round + 1}, ${context}`;
      // Opening recovers the file (WAL replay) as the next process would, creating it if the
      // writer died before it could.
      const store = createSqliteLedgerStore({ path });
      try {
        const db = new Database(path);
        try {
          expect(db.pragma('integrity_check', { simple: true }), `integrity_check ${what}`).toBe('ok');
        } finally {
          db.close();
        }
        const stored = await readAll(store);
        const byId = new Map(stored.map((event) => [event.id, event]));
        for (const [id, hash] of acknowledged) {
          expect(byId.get(id)?.hash, `acknowledged event ${id} ${what}`).toBe(hash);
        }
        for (const batch of attempted) {
          const present = batch.filter(([id, hash]) => byId.get(id)?.hash === hash).length;
          expect([0, batch.length], `batch ${batch[0]![0]}… half-written ${what}`).toContain(present);
        }
        const seqs = new Map<string, number[]>();
        for (const event of stored) seqs.set(event.stream, [...(seqs.get(event.stream) ?? []), event.seq]);
        for (const [stream, list] of seqs) {
          expect(list, `seq of ${stream} ${what}`).toEqual(list.map((_, i) => i));
        }
        const verification = verifyLedger(stored, { checkpoints: await store.listCheckpoints() });
        expect(verification.ok ? 'ok' : verification.problem.message, `verifyLedger ${what}`).toBe('ok');
      } finally {
        await store.close();
      }
    };

    // Writers are loaded ahead, PRELOAD at a time, while earlier ones run: loading TypeScript is
    // most of a round's cost. A loaded writer waits for `go` before it touches the file.
    const loading: ReturnType<typeof writer>[] = [];
    for (let round = 0; round < Math.min(PRELOAD, KILLS); round++) loading.push(writer(round));
    onTestFinished(() => {
      for (const { child } of loading) child.process.kill('SIGKILL');
    });
    for (let round = 0; round < KILLS; round++) {
      const { child: current, loaded, ready } = loading.shift()!;
      if (round + PRELOAD < KILLS) loading.push(writer(round + PRELOAD));
      await loaded;
      current.process.stdin.write('go\n');
      // Every sixth writer dies while it opens (and, the first time, migrates) the file or on its
      // first appends; the others at a random moment while appending.
      if (round % 6 !== 0) await ready;
      const life = round % 6 === 0 ? random() * 20 : 5 + random() * MAX_LIFE_MS;
      await new Promise((resolve) => setTimeout(resolve, life));
      current.process.kill('SIGKILL');
      const { code, signal } = await current.exited;
      expect(
        signal,
        `writer ${round} must die of SIGKILL, not on its own (exit ${code}): ${current.stderr()}`,
      ).toBe('SIGKILL');
      await check(round);
    }

    // The kills landed while writing: plenty was acknowledged, some batches were cut off between
    // `try` and `ack`, and checkpoints were stored along the way.
    expect(acknowledged.size, context).toBeGreaterThan(100);
    const cutOff = attempted.filter((batch) => acknowledged.get(batch[0]![0]) !== batch[0]![1]);
    expect(cutOff.length, context).toBeGreaterThan(0);
    expect(checkpoints, context).toBeGreaterThan(0);

    // Appends continue from the stored heads.
    const store = createSqliteLedgerStore({ path });
    const before = await readAll(store);
    const heads = await store.heads();
    const more: LedgerEvent[] = Object.entries(heads).map(([stream, head]) =>
      sealEvent(
        {
          stream,
          runId: stream,
          traceId: null,
          spanId: null,
          ts: new Date().toISOString(),
          type: 'run.ended',
          tenant: 'crash',
          actor: 'agent:crash-test',
          payload: { outcome: 'survived' },
        },
        head,
      ),
    );
    await store.append(more);
    const after = await readAll(store);
    expect(after).toEqual([...before, ...more]);
    expect(verifyLedger(after, { checkpoints: await store.listCheckpoints() }).ok).toBe(true);
    await store.close();
  });
});
