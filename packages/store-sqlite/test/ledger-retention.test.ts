import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainHead, CustodyError, type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import { forgedPruneRecord } from '@custody/store-conformance';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedgerStore, type SqliteDriver, type SqliteLedgerStore } from '../src/index.js';

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
/**
 * Appends the `ledger.pruned` record the store requires before it deletes `runs` (as
 * `createLedger().prune` does; unsigned here: the store checks placement and heads, verification
 * checks signatures), after the operator stream's current head.
 */
async function recordPrune(ledger: SqliteLedgerStore, runs: LedgerEvent[][]): Promise<void> {
  const operator = await readAll(ledger, { stream: 'operator:tenant-a' });
  await ledger.append([forgedPruneRecord('tenant-a', runs, operator.at(-1))]);
}

/** The database the last {@link capturingDriver} opened. */
let captured: Database.Database | undefined;

/** better-sqlite3, keeping the database it opened in `captured`. */
const capturingDriver = class {
  constructor(filename: string, options?: { timeout?: number }) {
    captured = new Database(filename, options);
    // biome-ignore lint/correctness/noConstructorReturn: hands back the real database
    return captured;
  }
} as unknown as SqliteDriver;

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
    await recordPrune(ledger, [a, b, c]);
    for (const sql of [
      "DELETE FROM custody_events WHERE stream = 'run-a'",
      "DELETE FROM custody_events WHERE id = 'run-b:1'",
      'DELETE FROM custody_events',
    ]) {
      expect(() => other((db) => db.exec(sql)), sql).toThrow(/no such function: custody_may_delete_stream/);
    }
    expect(await ledger.deleteStreams(['run-a', 'run-c'])).toBe(7);
    expect(await readAll(ledger, { tenant: 'tenant-a', type: 'tool.result' })).toEqual(b);
    // The path it opened was for its own statement only.
    expect(() => other((db) => db.exec("DELETE FROM custody_events WHERE stream = 'run-b'"))).toThrow(
      /no such function/,
    );
    expect(count('run-b')).toBe(2);
    await ledger.close();
  });

  it('opens the way for its own statement only: a DELETE run later on the same connection is refused', async () => {
    const ledger = createSqliteLedgerStore({ path, driver: capturingDriver });
    const [a, b] = [chain('run-a', 2), chain('run-b', 2)];
    await ledger.append([...a, ...b]);
    await recordPrune(ledger, [a, b]);
    expect(await ledger.deleteStreams(['run-a'])).toBe(2);
    // The same connection, after the call: the function answers no again.
    expect(() => captured!.exec("DELETE FROM custody_events WHERE stream = 'run-b'")).toThrow(/append-only/);
    expect(count('run-b')).toBe(2);
    await ledger.close();
  });

  it('rolls back when the delete fails: nothing deleted, the next call works', async () => {
    const ledger = createSqliteLedgerStore({
      path,
      driver: failingDriver('DELETE FROM custody_events WHERE stream IN (SELECT value FROM json_each(?))'),
    });
    const a = chain('run-a', 3);
    await ledger.append(a);
    await recordPrune(ledger, [a]);
    const error = await ledger.deleteStreams(['run-a']).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_STORE_ERROR');
    expect((error as Error).message).toMatch(/delete 1 stream\(s\): disk I\/O error \(simulated\)/);
    expect(count('run-a')).toBe(3);
    await ledger.append(chain('run-b', 1));
    expect(count()).toBe(5);
    await ledger.close();
  });

  it('commits appends still waiting for their group first, and refuses arguments it cannot use', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const a = chain('run-a', 2);
    const pending = ledger.append(a);
    const record = forgedPruneRecord('tenant-a', [a], undefined);
    const recorded = ledger.append([record]);
    expect(await ledger.deleteStreams(['run-a'])).toBe(2);
    await pending;
    await recorded;
    expect(count('run-a')).toBe(0);
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
    await recordPrune(ledger, [a]);
    await ledger.deleteStreams(['run-a']);
    expect(verifyLedger(await readAll(ledger)).ok).toBe(true);
    await ledger.close();
  });
});
