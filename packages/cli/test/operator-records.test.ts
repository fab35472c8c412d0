import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type CheckpointSigner,
  createEd25519Signer,
  createLedger,
  EventTypes,
  type LedgerEvent,
  type LedgerStore,
  readAll,
} from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import { createSqliteLedgerStore } from '@custody/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, createSqliteLedgerFixture, FIXTURE_RUNS, type SqliteLedgerFixture } from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
let keys: string;
let opsKeys: string;
let publicKey: string;

beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
  keys = join(fixture.dir, 'keys');
  opsKeys = join(fixture.dir, 'ops-keys');
  expect((await cli(['keygen', '-o', keys, '--key-id', 'ledger-test'])).code).toBe(0);
  expect((await cli(['keygen', '-o', opsKeys, '--key-id', 'ops'])).code).toBe(0);
  publicKey = `ledger-test=${join(keys, 'public.pem')}`;
});
afterAll(() => fixture.remove());

function signerFrom(dir: string, keyId: string): CheckpointSigner {
  return createEd25519Signer({ keyId, privateKey: createPrivateKey(readFileSync(join(dir, 'private.pem'))) });
}

/** A copy of the fixture with a signed checkpoint, and `work` done through the SQLite store. */
async function checkpointedCopy(name: string, work: (store: LedgerStore) => Promise<void>): Promise<string> {
  const path = fixture.copy(name);
  const stored = await cli([
    'checkpoint',
    path,
    '--key',
    join(keys, 'private.pem'),
    '--key-id',
    'ledger-test',
  ]);
  expect(stored.code, stored.stderr).toBe(0);
  const store = createSqliteLedgerStore({ path });
  try {
    await work(store);
  } finally {
    await store.close();
  }
  return path;
}

/** Appends an unsigned operator record through the store, as anyone allowed to append could. */
async function appendForged(
  store: LedgerStore,
  stream: string,
  fields: { type: string; tenant: string; runId: string | null; payload: Record<string, unknown> },
): Promise<LedgerEvent> {
  const record = sealEvent(
    { stream, traceId: null, spanId: null, ts: '2026-11-02T10:00:00.000Z', actor: 'user:mallory', ...fields },
    await store.head(stream),
  );
  await store.append([record]);
  return record;
}

describe('custody verify --key checks operator records', () => {
  it('catches a forged prune: an unsigned ledger.pruned appended through the store, then deleteStreams', async () => {
    const path = await checkpointedCopy('forged-prune.db', async (store) => {
      const head = (await store.head(FIXTURE_RUNS.refunded))!;
      await appendForged(store, 'operator:acme', {
        type: EventTypes.pruned,
        tenant: 'acme',
        runId: null,
        payload: {
          before: '2026-12-01T00:00:00.000Z',
          streams: [{ stream: FIXTURE_RUNS.refunded, ...head, events: head.seq + 1, heads: [head] }],
          reason: 'retention',
          requestedBy: 'service:retention',
        },
      });
      expect(await store.deleteStreams!([FIXTURE_RUNS.refunded])).toBe(10);
    });
    const unchecked = await cli(['verify', path]);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toMatch(/operator records\s+1 \(signatures not checked\)\n/);
    expect(unchecked.stdout).toContain('without --key or --operator-key no signature was checked');
    const result = await cli(['verify', path, '--key', publicKey]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toContain('FAILED: OPERATOR_UNSIGNED (forged)');
    expect(result.stdout).toMatch(/event\s+operator:acme:0 /);
    expect(result.stdout).toContain('carries no operator signature');
  });

  it('catches a forged redaction: an unsigned ledger.redacted appended through the store, then erasePayload', async () => {
    const target = `${FIXTURE_RUNS.refunded}:5`;
    const path = await checkpointedCopy('forged-redaction.db', async (store) => {
      const event = (await readAll(store, { stream: FIXTURE_RUNS.refunded })).find((e) => e.id === target)!;
      await appendForged(store, FIXTURE_RUNS.refunded, {
        type: EventTypes.redacted,
        tenant: 'acme',
        runId: FIXTURE_RUNS.refunded,
        payload: {
          eventId: target,
          eventType: event.type,
          payloadHash: event.payloadHash,
          reason: 'x',
          requestedBy: 'user:x',
        },
      });
      expect(await store.erasePayload!(target)).toBe(true);
    });
    const result = await cli(['verify', path, '--key', publicKey, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: false,
      redactions: 1,
      operatorRecords: 1,
      problem: { code: 'OPERATOR_UNSIGNED', kind: 'forged', eventId: `${FIXTURE_RUNS.refunded}:10` },
    });
  });

  it('passes a redaction signed with the checkpoint key, and counts the record', async () => {
    const path = await checkpointedCopy('signed-redaction.db', async (store) => {
      const ledger = createLedger({ store, signer: signerFrom(keys, 'ledger-test') });
      await ledger.redact(`${FIXTURE_RUNS.refunded}:5`, { requestedBy: 'user:dpo', reason: 'DSAR #1' });
    });
    const result = await cli(['verify', path, '--key', publicKey]);
    expect(result.code, result.stdout).toBe(0);
    expect(result.stdout).toMatch(/operator records\s+1 \(signatures verified\)\n/);
    expect(result.stdout).toContain('1 operator record signed by a trusted key');
    const json = JSON.parse((await cli(['verify', path, '--key', publicKey, '--json'])).stdout);
    expect(json).toMatchObject({
      ok: true,
      operatorRecords: 1,
      signedOperatorRecords: 1,
      trustedOperatorKeyIds: ['ledger-test'],
    });
  });

  it('trusts a separate operator key only when given with --operator-key', async () => {
    const path = await checkpointedCopy('operator-key.db', async (store) => {
      const ledger = createLedger({
        store,
        signer: signerFrom(keys, 'ledger-test'),
        operatorSigner: signerFrom(opsKeys, 'ops'),
      });
      await ledger.redact(`${FIXTURE_RUNS.denied}:1`, { requestedBy: 'user:dpo', reason: 'DSAR #2' });
    });
    const withoutIt = await cli(['verify', path, '--key', publicKey]);
    expect(withoutIt.code).toBe(1);
    expect(withoutIt.stdout).toContain('FAILED: OPERATOR_UNKNOWN_KEY (forged)');
    const named = await cli([
      'verify',
      path,
      '--key',
      publicKey,
      '--operator-key',
      `ops=${join(opsKeys, 'public.pem')}`,
    ]);
    expect(named.code, named.stdout).toBe(0);
    const bare = await cli([
      'verify',
      path,
      '--key',
      publicKey,
      '--operator-key',
      join(opsKeys, 'public.pem'),
      '--json',
    ]);
    expect(JSON.parse(bare.stdout)).toMatchObject({
      ok: true,
      trustedOperatorKeyIds: ['ledger-test', 'ops'],
    });
    // Operator keys alone: records are checked, checkpoint signatures are not required.
    const alone = await cli(['verify', path, '--operator-key', join(opsKeys, 'public.pem')]);
    expect(alone.code, alone.stdout).toBe(0);
  });

  it('refuses bad --operator-key values with exit 2', async () => {
    const missing = await cli(['verify', fixture.path, '--operator-key', join(opsKeys, 'missing.pem')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('--operator-key file');
    expect(missing.stderr).toContain('Run "custody verify --help" for usage.');
    const twice = await cli([
      'verify',
      fixture.path,
      '--key',
      publicKey,
      '--operator-key',
      `ledger-test=${join(opsKeys, 'public.pem')}`,
    ]);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toContain('key id ledger-test is given with both --key and --operator-key');
  });
});

describe('help', () => {
  it('lists the new flags', async () => {
    const verify = (await cli(['verify', '--help'])).stdout;
    for (const flag of [
      '--anchor <file|folder>',
      '--require-covered',
      '--operator-key <keyId>=<public.pem>',
    ]) {
      expect(verify).toContain(flag);
    }
    expect((await cli(['checkpoint', '--help'])).stdout).toContain('--anchor <file|folder>');
  });
});
