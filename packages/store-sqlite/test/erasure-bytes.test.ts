import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLedger, readAll } from '@custody/core';
import { operatorKey, runEvents } from '@custody/store-conformance';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedgerStore } from '../src/index.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-erasure-'));
  path = join(dir, 'ledger.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

const REQUEST = { requestedBy: 'user:dpo@example.com', reason: 'erasure request #42' };
const LATER = { now: () => Date.parse('2031-01-01T00:00:00.000Z') };

/** A text found nowhere else: its bytes in a file mean the erased value is still there. */
const marker = (label: string) => `MARKER-${label}-${randomBytes(8).toString('hex')}`;

/** Which of the database file and its WAL hold `text`, byte for byte. */
function filesHolding(text: string): string[] {
  const needle = Buffer.from(text, 'utf8');
  return [path, `${path}-wal`].filter((file) => existsSync(file) && readFileSync(file).includes(needle));
}

/** A payload that holds `secret` inline, in the tool name and outcome (both indexed), and in overflow pages. */
const secretPayload = (secret: string) => ({
  tool: `crm.${secret}`,
  status: secret,
  input: { email: `${secret}@example.com` },
  // Larger than a page: it lives in overflow pages, freed separately.
  attachment: `${secret} ${'x'.repeat(12_000)} ${secret}`,
});

describe('erasure leaves no copy of the erased text in ledger.db or its WAL', () => {
  it('after createLedger().redact, with the store open and after close', async () => {
    const store = createSqliteLedgerStore({ path });
    const ledger = createLedger({ store, signer: operatorKey().signer });
    const [inFile, inWal] = [marker('file'), marker('wal')];
    const early = runEvents('run-early', 3, { payload: (i) => (i === 1 ? secretPayload(inFile) : { i }) });
    await store.append(early);
    // Pages of the first run reach the database file; the second run's stay in the WAL.
    const shell = new Database(path);
    shell.pragma('wal_checkpoint(TRUNCATE)');
    shell.close();
    const late = runEvents('run-late', 3, { payload: (i) => (i === 1 ? secretPayload(inWal) : { i }) });
    await store.append(late);
    expect(filesHolding(inFile), 'the test sees the text before the erasure').toContain(path);
    expect(filesHolding(inWal), 'the test sees the text before the erasure').toEqual([`${path}-wal`]);

    await ledger.redact(early[1]!.id, REQUEST);
    await ledger.redact(late[1]!.id, REQUEST);
    expect(filesHolding(inFile), 'while the store is open').toEqual([]);
    expect(filesHolding(inWal), 'while the store is open').toEqual([]);
    expect((await readAll(store, { stream: 'run-early' }))[1]).toMatchObject({ payload: null, salt: null });
    // What was kept is still readable and appends go on.
    expect((await readAll(store, { stream: 'run-late' }))[2]!.payload).toEqual({ i: 2 });
    await store.append(runEvents('run-next', 1));
    await store.close();
    expect(filesHolding(inFile), 'after close').toEqual([]);
    expect(filesHolding(inWal), 'after close').toEqual([]);
  });

  it('after createLedger().prune of the run that held it', async () => {
    const store = createSqliteLedgerStore({ path });
    const ledger = createLedger({ store, signer: operatorKey().signer, clock: LATER });
    const secret = marker('pruned');
    await store.append(runEvents('run-old', 3, { payload: () => secretPayload(secret) }));
    await store.append(runEvents('run-kept', 2, { tenant: 'tenant-b' }));
    expect(filesHolding(secret)).not.toEqual([]);
    expect(
      await ledger.prune({ tenant: 'tenant-a', before: '2030-12-01T00:00:00.000Z', ...REQUEST }),
    ).toEqual({
      runs: 1,
      events: 3,
    });
    expect(filesHolding(secret), 'while the store is open').toEqual([]);
    await store.close();
    expect(filesHolding(secret), 'after close').toEqual([]);
  });

  it('when a reader of an older snapshot blocks the checkpoint: erased at once, scrubbed once it is gone', async () => {
    const store = createSqliteLedgerStore({ path, busyTimeoutMs: 20 });
    const ledger = createLedger({ store, signer: operatorKey().signer });
    const secret = marker('blocked');
    const run = runEvents('run-a', 3, { payload: (i) => (i === 1 ? secretPayload(secret) : { i }) });
    await store.append(run);
    // Another process in the middle of a long read: its snapshot still shows the payload.
    const reader = new Database(path);
    reader.exec('BEGIN');
    reader.prepare('SELECT count(*) FROM custody_events').get();
    await ledger.redact(run[1]!.id, REQUEST);
    expect((await readAll(store, { stream: 'run-a' }))[1]!.payload, 'the erasure is committed').toBeNull();
    // The reader may still read its snapshot, so the WAL keeps the old page until it is done.
    expect(filesHolding(secret)).not.toEqual([]);
    reader.exec('COMMIT');
    reader.close();
    await store.close();
    expect(filesHolding(secret), 'after the reader left and the store closed').toEqual([]);
  });
});
