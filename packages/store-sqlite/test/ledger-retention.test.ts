import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChainHead,
  CustodyError,
  type LedgerEvent,
  readAll,
  sealEvent,
  verifyLedger,
} from '@custody/core';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedgerStore, type SqliteDriver } from '../src/index.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-retention-'));
  path = join(dir, 'ledger.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let clock = 0;
function chain(stream: string, count: number): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let prev: ChainHead | undefined;
  for (let i = 0; i < count; i++) {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date(Date.UTC(2030, 0, 1) + clock++).toISOString(),
        type: 'tool.result',
        tenant: 'tenant-a',
        actor: 'agent:test@1.0.0',
        payload: { i },
      },
      prev,
    );
    events.push(event);
    prev = { seq: event.seq, hash: event.hash };
  }
  return events;
}

/** Opens the file on a connection of its own, as another process (or the sqlite3 shell) would. */
function other<T>(work: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const count = (stream?: string) =>
  other(
    (db) =>
      (
        (stream === undefined
          ? db.prepare('SELECT count(*) AS n FROM custody_events').get()
          : db.prepare('SELECT count(*) AS n FROM custody_events WHERE stream = ?').get(stream)) as {
          n: number;
        }
      ).n,
  );
const grants = () =>
  other((db) => (db.prepare('SELECT count(*) AS n FROM custody_prune_grants').get() as { n: number }).n);

/** better-sqlite3 whose statement `sql` throws on its first run. */
function failingDriver(sql: string): SqliteDriver {
  return class {
    constructor(filename: string, options?: { timeout?: number }) {
      const db = new Database(filename, options);
      const prepare = db.prepare.bind(db);
      db.prepare = ((text: string) => {
        const statement = prepare(text);
        if (text !== sql) return statement;
        statement.run = (() => {
          throw new Error('disk I/O error (simulated)');
        }) as typeof statement.run;
        return statement;
      }) as typeof db.prepare;
      // biome-ignore lint/correctness/noConstructorReturn: hands back the instrumented database
      return db;
    }
  } as unknown as SqliteDriver;
}

describe('deleteStreams (retention)', () => {
  it('deletes whole streams, while the trigger keeps refusing every other DELETE from any connection', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const [a, b, c] = [chain('run-a', 3), chain('run-b', 2), chain('run-c', 4)];
    await ledger.append([...a, ...b, ...c]);
    for (const sql of [
      "DELETE FROM custody_events WHERE stream = 'run-a'",
      "DELETE FROM custody_events WHERE id = 'run-b:1'",
      'DELETE FROM custody_events',
    ]) {
      expect(() => other((db) => db.exec(sql)), sql).toThrow(/append-only/);
    }
    expect(await ledger.deleteStreams(['run-a', 'run-c'])).toBe(7);
    expect(await readAll(ledger)).toEqual(b);
    expect(grants(), 'no grant is left behind').toBe(0);
    // The path it opened was for its own transaction only.
    expect(() => other((db) => db.exec("DELETE FROM custody_events WHERE stream = 'run-b'"))).toThrow(
      /append-only/,
    );
    expect(count('run-b')).toBe(2);
    await ledger.close();
  });

  it('clears a grant committed by someone else instead of honouring it', async () => {
    const ledger = createSqliteLedgerStore({ path });
    await ledger.append([...chain('run-a', 2), ...chain('run-b', 2)]);
    // Anyone who can write the file can do this, just as they can drop the triggers; the store
    // must still delete only what it was asked to.
    other((db) => db.prepare('INSERT INTO custody_prune_grants (stream) VALUES (?)').run('run-b'));
    expect(await ledger.deleteStreams(['run-a'])).toBe(2);
    expect(count('run-b')).toBe(2);
    expect(grants()).toBe(0);
    await ledger.close();
  });

  it('rolls back when the delete fails: nothing deleted, no grant left, the next call works', async () => {
    const ledger = createSqliteLedgerStore({
      path,
      driver: failingDriver(
        'DELETE FROM custody_events WHERE stream IN (SELECT stream FROM custody_prune_grants)',
      ),
    });
    await ledger.append(chain('run-a', 3));
    const error = await ledger.deleteStreams(['run-a']).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_STORE_ERROR');
    expect((error as Error).message).toMatch(/delete 1 stream\(s\): disk I\/O error \(simulated\)/);
    expect(count('run-a')).toBe(3);
    expect(grants()).toBe(0);
    await ledger.append(chain('run-b', 1));
    expect(count()).toBe(4);
    await ledger.close();
  });

  it('commits appends still waiting for their group first, and refuses arguments it cannot use', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const a = chain('run-a', 2);
    const pending = ledger.append(a);
    expect(await ledger.deleteStreams(['run-a'])).toBe(2);
    await pending;
    expect(count()).toBe(0);
    for (const bad of ['run-a', [1], null]) {
      const error = await ledger.deleteStreams(bad as never).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(CustodyError.isInstance(error) && error.code, JSON.stringify(bad)).toBe(
        'CUSTODY_INVALID_ARGUMENT',
      );
    }
    await ledger.close();
    await expect(ledger.deleteStreams(['x'])).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
  });

  it('leaves the rest of the ledger verifying', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const [a, b] = [chain('run-a', 3), chain('run-b', 2)];
    await ledger.append([...a, ...b]);
    await ledger.deleteStreams(['run-a']);
    expect(verifyLedger(await readAll(ledger)).ok).toBe(true);
    await ledger.close();
  });
});
