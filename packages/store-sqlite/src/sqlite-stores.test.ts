import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustodyError } from '@custody/core';
import { canonicalize, createCheckpoint, sha256Hex } from '@custody/core/ledger';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { SqliteDatabase, SqliteDriver } from './sqlite-driver.js';
import { DEFAULT_SQLITE_PATH, type SqliteStoreOptions } from './sqlite-options.js';
import { MIGRATIONS, SQLITE_SCHEMA_VERSION } from './sqlite-schema.js';
import {
  createSqliteIdempotencyStore,
  createSqliteLedgerStore,
  createSqliteStores,
} from './sqlite-stores.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-stores-'));
  path = join(dir, 'ledger.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/** better-sqlite3, handing every database it opens to `opened`. */
function capturingDriver(opened: SqliteDatabase[]): SqliteDriver {
  return class {
    constructor(filename: string, options?: { timeout?: number }) {
      const db = new Database(filename, options);
      opened.push(db);
      // biome-ignore lint/correctness/noConstructorReturn: hands back the real database
      return db;
    }
  } as unknown as SqliteDriver;
}

function thrown(fn: () => unknown): CustodyError {
  try {
    fn();
  } catch (error) {
    expect(CustodyError.isInstance(error), `expected a CustodyError, got ${String(error)}`).toBe(true);
    return error as CustodyError;
  }
  throw new Error('expected the call to throw');
}

describe('options', () => {
  it('are checked at once, with messages that say what to fix', () => {
    const cases: [unknown, RegExp][] = [
      [
        { file: 'x.db' },
        /createSqliteStores: unknown option "file"; the options are path, driver, busyTimeoutMs/,
      ],
      [{ path: '' }, /option "path" must be a file path \(or ":memory:"\), got ""/],
      [{ path: 42 }, /option "path" must be a file path .*got 42/],
      [{ busyTimeoutMs: -1 }, /option "busyTimeoutMs" must be a whole number of milliseconds >= 0, got -1/],
      [{ busyTimeoutMs: 1.5 }, /got 1\.5/],
      [
        { driver: 'better-sqlite3' },
        /option "driver" must be better-sqlite3's Database constructor, got "better-sqlite3"/,
      ],
      [null, /options must be an object, got null/],
    ];
    for (const [options, message] of cases) {
      const error = thrown(() => createSqliteStores(options as SqliteStoreOptions));
      expect(error.code, JSON.stringify(options)).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(error.message).toMatch(message);
    }
    expect(thrown(() => createSqliteLedgerStore({ file: 'x' } as SqliteStoreOptions)).message).toMatch(
      /^\[custody\] createSqliteLedgerStore: unknown option "file"/,
    );
  });

  it('default to ./.custody/ledger.db, and missing folders are created', async () => {
    expect(DEFAULT_SQLITE_PATH).toBe('./.custody/ledger.db');
    const nested = join(dir, 'a', 'b', 'c', 'ledger.db');
    const stores = createSqliteStores({ path: nested });
    expect(stores.path).toBe(nested);
    expect(existsSync(nested)).toBe(true);
    await stores.close();
  });
});

describe('opening a database', () => {
  it('uses the injected driver with WAL, synchronous=FULL and the busy timeout', async () => {
    const opened: SqliteDatabase[] = [];
    const stores = createSqliteStores({ path, driver: capturingDriver(opened), busyTimeoutMs: 1234 });
    expect(opened).toHaveLength(1);
    const db = opened[0]!;
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('synchronous', { simple: true })).toBe(2); // FULL
    expect(db.pragma('busy_timeout', { simple: true })).toBe(1234);
    expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    await stores.close();
    expect(db.open).toBe(false);
  });

  it('refuses a database written by a newer version of the package', async () => {
    await createSqliteStores({ path }).close();
    const db = new Database(path);
    db.pragma(`user_version = ${SQLITE_SCHEMA_VERSION + 1}`);
    db.close();
    const error = thrown(() => createSqliteStores({ path }));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect(error.message).toContain(
      `has schema version ${SQLITE_SCHEMA_VERSION + 1}, newer than this @custody/store-sqlite understands (${SQLITE_SCHEMA_VERSION})`,
    );
  });

  it('upgrades a file written at an older schema version, keeping its data', async () => {
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.pragma('user_version = 1');
    old
      .prepare('INSERT INTO custody_approvals (id, tenant, run_id, status, request) VALUES (?, ?, ?, ?, ?)')
      .run('apr-1', 'tenant-a', 'run-1', 'pending', canonicalize(approval('apr-1')));
    old.close();
    const opened: SqliteDatabase[] = [];
    const stores = createSqliteStores({ path, driver: capturingDriver(opened) });
    expect(opened[0]!.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
    expect(await stores.approvals.get('apr-1')).toEqual(approval('apr-1'));
    const checkpoint = createCheckpoint([], { createdAt: '2030-01-01T00:00:00.000Z' });
    await stores.ledger.appendCheckpoint(checkpoint);
    expect(await stores.ledger.listCheckpoints()).toEqual([checkpoint]);
    expect(() => opened[0]!.exec('DELETE FROM custody_checkpoints')).toThrow(/append-only/);
    expect(() => opened[0]!.exec("UPDATE custody_checkpoints SET root = 'x'")).toThrow(/append-only/);
    await stores.close();
  });

  it('fails with CUSTODY_STORE_ERROR when the file is not a SQLite database', () => {
    writeFileSync(
      path,
      'this is not a database, only text that is long enough to look like a header'.repeat(20),
    );
    const error = thrown(() => createSqliteStores({ path }));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect(error.message).toMatch(/cannot open the SQLite database .*ledger\.db/);
  });

  it('works in memory for tests', async () => {
    const stores = createSqliteStores({ path: ':memory:' });
    await stores.approvals.create(approval('apr-1'));
    expect(await stores.approvals.get('apr-1')).toEqual(approval('apr-1'));
    await stores.close();
  });
});

describe('closing', () => {
  it('closes the shared database when the last store closes; a closed store says so', async () => {
    const opened: SqliteDatabase[] = [];
    const stores = createSqliteStores({ path, driver: capturingDriver(opened) });
    await stores.ledger.close();
    const closed = await stores.ledger.read().then(
      () => undefined,
      (error: unknown) => error as CustodyError,
    );
    expect(closed?.code).toBe('CUSTODY_STORE_ERROR');
    expect(closed?.message).toMatch(/the SQLite ledger store is closed/);
    expect(await stores.approvals.list(), 'the other stores keep working').toEqual([]);
    expect(opened[0]!.open).toBe(true);
    await stores.close();
    await stores.close();
    expect(opened[0]!.open).toBe(false);
  });
});

describe('idempotency and approvals', () => {
  it('never lets two connections to one file claim the same key', async () => {
    const one = createSqliteIdempotencyStore({ path });
    const two = createSqliteIdempotencyStore({ path });
    const request = { tenant: 't', key: 'k', fingerprint: 'f', callId: 'c1', leaseMs: 1000, now: 5000 };
    expect(await one.claim(request)).toEqual({ status: 'claimed' });
    expect(await two.claim({ ...request, callId: 'c2' })).toEqual({
      status: 'in_progress',
      leaseExpiresAt: 6000,
    });
    await one.close();
    await two.close();
  });

  it('reject arguments they cannot store with a clear error', async () => {
    const stores = createSqliteStores({ path });
    const claim = await stores.idempotency
      .claim({ tenant: 't', key: 'k', fingerprint: 'f', callId: 'c', leaseMs: -5, now: 0 })
      .catch((error: CustodyError) => error);
    expect(claim).toMatchObject({ code: 'CUSTODY_INVALID_ARGUMENT' });
    expect((claim as CustodyError).message).toMatch(
      /leaseMs must be a whole number of milliseconds >= 0, got -5/,
    );
    const create = await stores.approvals
      .create({ ...approval('apr-1'), input: { when: new Date(0) } })
      .catch((error: CustodyError) => error);
    expect(create).toMatchObject({ code: 'CUSTODY_CANONICAL_INVALID' });
    expect(await stores.approvals.get('apr-1')).toBeUndefined();
    await stores.close();
  });
});

function approval(id: string) {
  return {
    id,
    digest: sha256Hex(id),
    status: 'pending' as const,
    tenant: 'tenant-a',
    runId: 'run-1',
    callId: 'call-1',
    tool: { name: 'stripe.refund', version: '1.0.0' },
    input: { amountCents: 500 },
    resource: { tenant: 'tenant-a' },
    requestedBy: 'agent:triage',
    onBehalfOf: null,
    agent: { id: 'triage', version: '1.0.0' },
    approvers: [{ role: 'finance', count: 1 }],
    policy: { id: 'p', version: '1', hash: sha256Hex('p') },
    ruleIds: ['r'],
    reasons: ['why'],
    createdAt: '2030-01-01T00:00:00.000Z',
    expiresAt: '2030-01-02T00:00:00.000Z',
  };
}
