import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainHead, CustodyError, type LedgerEvent, readAll, verifyLedger } from '@custody/core';
import { canonicalize, type EventDraft, sealEvent } from '@custody/core/ledger';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteDriver } from './sqlite-driver.js';
import { createSqliteLedgerStore, createSqliteStores } from './sqlite-stores.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-ledger-'));
  path = join(dir, 'ledger.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

let clock = 0;
function seal(stream: string, prev: ChainHead | undefined, payload: unknown = { n: clock }): LedgerEvent {
  return sealEvent(
    {
      stream,
      runId: stream,
      traceId: null,
      spanId: null,
      ts: new Date(Date.UTC(2030, 0, 1) + clock++).toISOString(),
      type: 'tool.result',
      tenant: 'tenant-a',
      actor: 'agent:test@1.0.0',
      payload,
    },
    prev,
  );
}

function draftOf(event: LedgerEvent): EventDraft {
  const { stream, runId, traceId, spanId, ts, type, tenant, actor, payload } = event;
  return { stream, runId, traceId, spanId, ts, type, tenant, actor, payload };
}

/** The `ledger.redacted` record erasePayload requires for `target`, appended after `prev` in its stream. */
function redactionOf(target: LedgerEvent, prev: LedgerEvent): LedgerEvent {
  return sealEvent(
    {
      ...draftOf(prev),
      type: 'ledger.redacted',
      payload: {
        eventId: target.id,
        eventType: target.type,
        payloadHash: target.payloadHash,
        reason: 'test',
      },
    },
    prev,
  );
}

function chain(stream: string, count: number, prev?: LedgerEvent): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  for (let i = 0; i < count; i++) events.push(seal(stream, events.at(-1) ?? prev));
  return events;
}

/** better-sqlite3, recording every statement run, optionally failing the nth run of one statement. */
function recordingDriver(log: string[], fail?: { sql: string; at: number }): SqliteDriver {
  let seen = 0;
  return class {
    constructor(filename: string, options?: { timeout?: number }) {
      const db = new Database(filename, options);
      const prepare = db.prepare.bind(db);
      db.prepare = ((sql: string) => {
        const statement = prepare(sql);
        const run = statement.run.bind(statement);
        statement.run = ((...params: unknown[]) => {
          log.push(sql);
          if (fail && sql === fail.sql && ++seen === fail.at) throw new Error('disk I/O error (simulated)');
          return run(...params);
        }) as typeof statement.run;
        return statement;
      }) as typeof db.prepare;
      // biome-ignore lint/correctness/noConstructorReturn: hands back the instrumented database itself
      return db;
    }
  } as unknown as SqliteDriver;
}

function rawCount(): number {
  const db = new Database(path, { readonly: true });
  try {
    return (db.prepare('SELECT count(*) AS n FROM custody_events').get() as { n: number }).n;
  } finally {
    db.close();
  }
}

async function rejection(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(CustodyError.isInstance(error), `expected a CustodyError, got ${String(error)}`).toBe(true);
  return error as CustodyError;
}

describe('group commit', () => {
  it('merges appends made in the same tick into one transaction', async () => {
    const log: string[] = [];
    const stores = createSqliteStores({ path, driver: recordingDriver(log) });
    const batches = Array.from({ length: 50 }, (_, i) => chain(`run-${i}`, 2));
    log.length = 0;
    await Promise.all(batches.map((batch) => stores.ledger.append(batch)));
    expect(log.filter((sql) => sql === 'BEGIN IMMEDIATE')).toHaveLength(1);
    expect(log.filter((sql) => sql === 'COMMIT')).toHaveLength(1);
    expect(rawCount()).toBe(100);

    log.length = 0;
    await stores.ledger.append(chain('run-0', 1, batches[0]![1]));
    await stores.ledger.append(chain('run-1', 1, batches[1]![1]));
    expect(
      log.filter((sql) => sql === 'COMMIT'),
      'appends awaited one by one',
    ).toHaveLength(2);
    await stores.close();
  });

  it('settles each promise only after the transaction committed', async () => {
    const stores = createSqliteStores({ path });
    const events = chain('run', 3);
    const pending = stores.ledger.append(events);
    expect(rawCount(), 'before the group commits').toBe(0);
    await pending;
    expect(rawCount(), 'once the promise resolved').toBe(3);
    await stores.close();
  });

  it('keeps call order within a group, and fails only the conflicting caller', async () => {
    const stores = createSqliteStores({ path });
    const [e0, e1, e2] = chain('run', 3);
    const fork = seal('run', e0, 'fork');
    const results = await Promise.allSettled([
      stores.ledger.append([e0!]),
      stores.ledger.append([e1!]),
      stores.ledger.append([fork]),
      stores.ledger.append([e2!]),
    ]);
    expect(results.map((result) => result.status)).toEqual([
      'fulfilled',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    expect(((results[2] as PromiseRejectedResult).reason as CustodyError).code).toBe(
      'CUSTODY_LEDGER_CONFLICT',
    );
    const stored = await readAll(stores.ledger, { stream: 'run' });
    expect(stored).toEqual([e0, e1, e2]);
    expect(verifyLedger(stored).ok).toBe(true);
    await stores.close();
  });

  it('rejects every caller with CUSTODY_LEDGER_WRITE_FAILED when the commit fails, writing nothing', async () => {
    const stores = createSqliteStores({ path, driver: recordingDriver([], { sql: 'COMMIT', at: 1 }) });
    const batches = [chain('a', 2), chain('b', 2)];
    const results = await Promise.allSettled(batches.map((batch) => stores.ledger.append(batch)));
    for (const result of results) {
      expect(result.status).toBe('rejected');
      const reason = (result as PromiseRejectedResult).reason as CustodyError;
      expect(reason.code).toBe('CUSTODY_LEDGER_WRITE_FAILED');
      expect(reason.message).toMatch(/disk I\/O error \(simulated\).*nothing was written/);
    }
    expect(rawCount()).toBe(0);
    await Promise.all(batches.map((batch) => stores.ledger.append(batch)));
    expect(rawCount(), 'the next group commits').toBe(4);
    await stores.close();
  });

  it('commits appends still pending when the store closes', async () => {
    const stores = createSqliteStores({ path });
    const events = chain('run', 2);
    const pending = stores.ledger.append(events);
    await stores.close();
    await pending;
    expect(rawCount()).toBe(2);
  });
});

describe('two connections to one file (two processes)', () => {
  it('lets exactly one of two racing writers extend a stream', async () => {
    const one = createSqliteLedgerStore({ path });
    const two = createSqliteLedgerStore({ path });
    const [base] = chain('run', 1);
    await one.append([base!]);
    const a = [seal('run', base, 'a')];
    const b = [seal('run', base, 'b')];
    const results = await Promise.allSettled([one.append(a), two.append(b)]);
    expect(results.filter((result) => result.status === 'fulfilled')).toHaveLength(1);
    const loser = results.find((result) => result.status === 'rejected') as PromiseRejectedResult;
    expect((loser.reason as CustodyError).code).toBe('CUSTODY_LEDGER_CONFLICT');
    expect(await two.head('run')).toEqual(await one.head('run'));
    await one.close();
    await two.close();
  });
});

describe('storage', () => {
  it('stores each payload as its canonical JSON text', async () => {
    const stores = createSqliteStores({ path });
    const payload = { z: [1, { y: 'ü😀', x: null }], a: 1e21, m: 'line\u2028sep' };
    await stores.ledger.append([seal('run', undefined, payload)]);
    const db = new Database(path, { readonly: true });
    const row = db.prepare('SELECT payload, tool FROM custody_events').get() as {
      payload: string;
      tool: null;
    };
    db.close();
    expect(row.payload).toBe(canonicalize(payload));
    await stores.close();
  });

  it('indexes the tool name of tool events and clears it with the payload', async () => {
    const stores = createSqliteStores({ path });
    const event = seal('run', undefined, { tool: 'stripe.refund', input: {} });
    await stores.ledger.append([event, redactionOf(event, event)]);
    expect((await stores.ledger.read({ tool: 'stripe.refund' })).events).toHaveLength(1);
    await stores.ledger.erasePayload(event.id);
    expect((await stores.ledger.read({ tool: 'stripe.refund' })).events).toHaveLength(0);
    await stores.close();
  });

  it('refuses UPDATE and DELETE of events from any other connection; erasing goes through erasePayload', async () => {
    const stores = createSqliteStores({ path });
    const events = chain('run', 2);
    const id = events[0]!.id;
    await stores.ledger.append([...events, redactionOf(events[0]!, events[1]!)]);
    await stores.close();
    const db = new Database(path);
    const attempts = [
      "UPDATE custody_events SET ts = '2000-01-01T00:00:00.000Z'",
      'UPDATE custody_events SET seq = seq + 10',
      "UPDATE custody_events SET hash = 'f' || substr(hash, 2)",
      'UPDATE custody_events SET pos = pos + 100',
      `UPDATE custody_events SET payload = '{"forged":true}' WHERE id = '${id}'`,
      `UPDATE custody_events SET payload = NULL WHERE id = '${id}'`,
      `UPDATE custody_events SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = '${id}'`,
      'DELETE FROM custody_events',
      `DELETE FROM custody_events WHERE id = '${id}'`,
    ];
    // An envelope change hits the append-only trigger; a DELETE or an erasure needs a function only
    // a Custody connection registers, so it fails to prepare here.
    for (const sql of attempts) {
      expect(() => db.exec(sql), sql).toThrow(/append-only|no such function: custody_may_/);
    }
    db.close();
    const reopened = createSqliteStores({ path });
    expect(await reopened.ledger.erasePayload(id)).toBe(true);
    const stored = await readAll(reopened.ledger);
    expect(stored[0]!.payload).toBeNull();
    expect(verifyLedger(stored)).toMatchObject({ ok: true, redacted: 1 });
    await reopened.close();
  });
});

describe('append input', () => {
  it('rejects a malformed event with CUSTODY_INVALID_ARGUMENT, naming the field', async () => {
    const stores = createSqliteStores({ path });
    const [event] = chain('run', 1);
    const error = await rejection(stores.ledger.append([{ ...event!, seq: -1 }]));
    expect(error.code).toBe('CUSTODY_INVALID_ARGUMENT');
    expect(error.message).toMatch(/event 0 of the batch: seq must be an integer >= 0, got -1/);
    const notArray = await rejection(stores.ledger.append('nope' as unknown as LedgerEvent[]));
    expect(notArray.code).toBe('CUSTODY_INVALID_ARGUMENT');
    expect(rawCount()).toBe(0);
    await stores.close();
  });

  it('rejects a payload JSON cannot carry before it joins a group, and the group still commits', async () => {
    const stores = createSqliteStores({ path });
    const [good] = chain('good', 1);
    const [bad] = chain('bad', 1);
    const results = await Promise.allSettled([
      stores.ledger.append([{ ...bad!, payload: { when: new Date(0) } }]),
      stores.ledger.append([good!]),
    ]);
    expect(((results[0] as PromiseRejectedResult).reason as CustodyError).code).toBe(
      'CUSTODY_CANONICAL_INVALID',
    );
    expect(results[1]!.status).toBe('fulfilled');
    expect(rawCount()).toBe(1);
    await stores.close();
  });

  it('rejects an append whose signal is already aborted, writing nothing', async () => {
    const stores = createSqliteStores({ path });
    const error = await rejection(stores.ledger.append(chain('run', 1), { signal: AbortSignal.abort() }));
    expect(error.code).toBe('CUSTODY_ABORTED');
    expect(rawCount()).toBe(0);
    await stores.close();
  });

  it('rejects query values of the wrong type with CUSTODY_INVALID_ARGUMENT', async () => {
    const stores = createSqliteStores({ path });
    for (const query of [
      { runId: 7 },
      { type: [1] },
      { from: new Date() },
      { cursor: '-1' },
      { cursor: '1e3' },
    ]) {
      const error = await rejection(stores.ledger.read(query as never));
      expect(error.code, JSON.stringify(query)).toBe('CUSTODY_INVALID_ARGUMENT');
    }
    await stores.close();
  });
});
