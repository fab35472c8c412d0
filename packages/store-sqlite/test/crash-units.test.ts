import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAll, verifyLedger } from '@custody/core';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, onTestFinished } from 'vitest';
import { createSqliteLedgerStore } from '../src/index.js';
import { spawnTypeScript } from './spawn-typescript.js';

const KILLS = 8;
const MAX_LIFE_MS = 250;

/** One unit a writer started to commit, as it printed it. */
interface UnitLine {
  readonly events: readonly string[];
  readonly key: string;
  readonly kind: 'claim' | 'complete';
}

const dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-units-'));
const path = join(dir, 'ledger.db');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('SQLite unit of work under SIGKILL', () => {
  it(`keeps every acknowledged unit and commits each unit's events and key change together across ${KILLS} kills`, {
    timeout: 60_000,
  }, async () => {
    const seed = Number(process.env.CUSTODY_CRASH_SEED ?? Date.now() % 1_000_000);
    const context = `seed ${seed}`;
    const acknowledged: UnitLine[] = [];
    const attempted: UnitLine[] = [];

    const check = async (round: number): Promise<void> => {
      const what = `after kill ${round + 1}, ${context}`;
      const store = createSqliteLedgerStore({ path });
      const db = new Database(path, { readonly: true });
      try {
        const stored = new Map((await readAll(store)).map((event) => [event.id, event.hash]));
        const keyState = db.prepare('SELECT state FROM custody_idempotency WHERE tenant = ? AND key = ?');
        const stateOf = (key: string) =>
          (keyState.get('crash', key) as { state: string } | undefined)?.state ?? 'absent';
        const eventsStored = (unit: UnitLine) =>
          unit.events.filter((pair) => {
            const [id, hash] = pair.split('=');
            return stored.get(id!) === hash;
          }).length;

        for (const unit of acknowledged) {
          expect(eventsStored(unit), `events of acknowledged ${unit.kind} ${unit.key} ${what}`).toBe(
            unit.events.length,
          );
          expect(stateOf(unit.key), `key of acknowledged ${unit.kind} ${unit.key} ${what}`).toMatch(
            unit.kind === 'claim' ? /^(claimed|completed)$/ : /^completed$/,
          );
        }
        for (const unit of attempted) {
          const present = eventsStored(unit);
          expect([0, unit.events.length], `${unit.kind} ${unit.key} half-written ${what}`).toContain(present);
          const state = stateOf(unit.key);
          // The key change is stored exactly when the unit's events are.
          if (unit.kind === 'complete') {
            expect(state === 'completed', `completion of ${unit.key} vs its events ${what}`).toBe(
              present > 0,
            );
          } else {
            expect(state !== 'absent', `claim of ${unit.key} vs its events ${what}`).toBe(present > 0);
          }
        }
        const all = await readAll(store);
        expect(verifyLedger(all).ok, `verifyLedger ${what}`).toBe(true);
      } finally {
        db.close();
        await store.close();
      }
    };

    for (let round = 0; round < KILLS; round++) {
      const child = spawnTypeScript('crash-unit-writer.ts', [path, `${seed}r${round}`]);
      onTestFinished(() => {
        child.process.kill('SIGKILL');
      });
      child.onLine((line) => {
        if (line.startsWith('try ')) attempted.push(JSON.parse(line.slice(4)) as UnitLine);
        else if (line.startsWith('ack ')) acknowledged.push(JSON.parse(line.slice(4)) as UnitLine);
      });
      await child.waitFor((line) => line === 'loaded', `loading writer ${round}`);
      const ready = child.waitFor((line) => line === 'ready', `writer ${round} opening the file`);
      child.process.stdin.write('go\n');
      await ready;
      await new Promise((resolve) => setTimeout(resolve, 20 + ((seed * 31 + round * 97) % MAX_LIFE_MS)));
      child.process.kill('SIGKILL');
      const { code, signal } = await child.exited;
      expect(signal, `writer ${round} must die of SIGKILL (exit ${code}): ${child.stderr()}`).toBe('SIGKILL');
      await check(round);
    }

    // The kills landed while committing: units were acknowledged and some were cut off.
    expect(acknowledged.length, context).toBeGreaterThan(50);
    expect(attempted.length, context).toBeGreaterThan(acknowledged.length);
  });
});
