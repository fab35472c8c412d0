import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CustodyError, createLedger, readAll, verifyLedger } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import {
  forgedPruneRecord,
  forgedRedactionRecord,
  holdEvent,
  operatorKey,
  runEvents,
  signedAgain,
} from '@custody/store-conformance';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedgerStore, type SqliteLedgerStore } from '../src/index.js';
import { MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../src/sqlite-schema.js';

let dir: string;
let path: string;
let store: SqliteLedgerStore;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-guards-'));
  path = join(dir, 'ledger.db');
  store = createSqliteLedgerStore({ path });
});
afterEach(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

const REQUEST = { requestedBy: 'user:dpo@example.com', reason: 'erasure request #42' };

async function refusal(promise: Promise<unknown>): Promise<CustodyError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(CustodyError.isInstance(error), `expected a CustodyError, got ${String(error)}`).toBe(true);
  return error as CustodyError;
}

/** Opens the file on a connection of its own, as another process or the sqlite3 shell would. */
function shell<T>(work: (db: Database.Database) => T): T {
  const db = new Database(path);
  try {
    return work(db);
  } finally {
    db.close();
  }
}

const count = (stream: string) =>
  shell(
    (db) =>
      (db.prepare('SELECT count(*) AS n FROM custody_events WHERE stream = ?').get(stream) as { n: number })
        .n,
  );

const head = async (stream: string) => (await readAll(store, { stream })).at(-1);

describe('deleteStreams refuses, deleting nothing, unless the deletion is recorded and no hold covers it', () => {
  it('without a ledger.pruned record', async () => {
    const run = runEvents('run-a', 3);
    await store.append(run);
    const error = await refusal(store.deleteStreams(['run-a']));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect(error.message).toBe(
      '[custody] no ledger.pruned record names stream run-a at its head seq 2; prune through createLedger().prune',
    );
    expect(error.details).toMatchObject({ stream: 'run-a', seq: 2, hash: run[2]!.hash });
    expect(count('run-a')).toBe(3);
  });

  it('with a record that names another head, sits in another stream or tenant, or is no prune record', async () => {
    const run = runEvents('run-a', 3);
    await store.append(run);
    const [h0, h1] = [run[1]!, run[2]!];
    const stale = forgedPruneRecord('tenant-a', [run.slice(0, 2)], undefined);
    const wrongHash = forgedPruneRecord('tenant-a', [], stale, {
      entries: [{ stream: 'run-a', seq: h1.seq, hash: h0.hash }],
    });
    const seqAbove = forgedPruneRecord('tenant-a', [], wrongHash, {
      entries: [{ stream: 'run-a', seq: h1.seq + 1, hash: h1.hash }],
    });
    const notPrune = forgedPruneRecord('tenant-a', [run], seqAbove, {
      envelope: { type: 'ledger.exported' },
    });
    const entries = [{ stream: 'run-a', seq: `${h1.seq}`, hash: h1.hash }, 'run-a', null];
    const badTypes = forgedPruneRecord('tenant-a', [], notPrune, { entries });
    await store.append([stale, wrongHash, seqAbove, notPrune, badTypes]);
    // In another tenant's operator stream, in the run's own stream, or with another envelope tenant.
    await store.append([forgedPruneRecord('tenant-b', [run], undefined)]);
    await store.append([
      forgedPruneRecord('tenant-a', [run], undefined, {
        envelope: { stream: 'operator:tenant-c', tenant: 'tenant-c' },
      }),
    ]);
    await store.append([
      forgedPruneRecord('tenant-a', [run], undefined, { envelope: { stream: 'misc', tenant: 'tenant-a' } }),
    ]);
    const mislabelled = forgedPruneRecord('tenant-a', [run], badTypes, { envelope: { tenant: 'tenant-b' } });
    await store.append([mislabelled]);
    const error = await refusal(store.deleteStreams(['run-a']));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect(error.message).toMatch(/no ledger.pruned record names stream run-a at its head seq 2/);
    expect(count('run-a')).toBe(3);
    const named = forgedPruneRecord('tenant-a', [run], mislabelled);
    // Records written since, naming other streams: the one naming run-a is found further back.
    const second = runEvents('run-second', 2);
    const later = forgedPruneRecord('tenant-a', [second], named);
    const unrelated = forgedPruneRecord('tenant-a', [runEvents('run-unrelated', 1)], later);
    await store.append([named, ...second, later, unrelated]);
    expect(await store.deleteStreams(['run-a', 'no-such-stream', 'run-second'])).toBe(5);
  });

  it('for a held run, a held tenant, and every stream of the call when one of them is refused', async () => {
    const held = runEvents('run-held', 2);
    const free = runEvents('run-free', 2);
    const elsewhere = runEvents('run-b', 2, { tenant: 'tenant-b' });
    await store.append([...held, ...free, ...elsewhere]);
    const hold = holdEvent('ledger.hold_placed', 'tenant-a', 'run-held', undefined);
    const record = forgedPruneRecord('tenant-a', [held, free], hold);
    const recordB = forgedPruneRecord('tenant-b', [elsewhere], undefined);
    await store.append([hold, record, recordB]);

    const error = await refusal(store.deleteStreams(['run-free', 'run-held']));
    expect(error.code).toBe('CUSTODY_LEGAL_HOLD');
    expect(error.message).toBe(
      '[custody] stream run-held cannot be deleted: run run-held of tenant tenant-a is under legal hold; release the hold first (createLedger().releaseHold)',
    );
    expect(count('run-free'), 'the free stream of the refused call').toBe(2);
    expect(count('run-held')).toBe(2);

    // A tenant-wide hold covers every run of the tenant, not the other tenant's.
    const tenantHold = holdEvent('ledger.hold_placed', 'tenant-a', null, record);
    const release = holdEvent('ledger.hold_released', 'tenant-a', 'run-held', tenantHold);
    await store.append([tenantHold, release]);
    expect((await refusal(store.deleteStreams(['run-free']))).message).toMatch(
      /stream run-free cannot be deleted: tenant tenant-a is under legal hold/,
    );
    expect(await store.deleteStreams(['run-b'])).toBe(2);

    const released = holdEvent('ledger.hold_released', 'tenant-a', null, release);
    await store.append([released]);
    expect(await store.deleteStreams(['run-held', 'run-free', 'no-such-stream'])).toBe(4);
  });

  it('through createLedger: prune skips the held run, and the store refuses it if asked directly', async () => {
    const { signer, keys } = operatorKey();
    const ledger = createLedger({
      store,
      signer,
      clock: { now: () => Date.parse('2031-01-01T00:00:00.000Z') },
    });
    const held = runEvents('run-held', 2);
    const free = runEvents('run-free', 2);
    await store.append([...held, ...free]);
    await ledger.checkpoint();
    await ledger.hold({
      tenant: 'tenant-a',
      runId: 'run-held',
      requestedBy: 'user:counsel',
      reason: 'case 7',
    });
    expect(
      await ledger.prune({ tenant: 'tenant-a', before: '2030-12-01T00:00:00.000Z', ...REQUEST }),
    ).toEqual({ runs: 1, events: 2 });
    // A careless caller, with a record for the held run too: the store itself refuses.
    const operator = await readAll(store, { stream: 'operator:tenant-a' });
    await store.append([forgedPruneRecord('tenant-a', [held], operator.at(-1))]);
    expect((await refusal(store.deleteStreams(['run-held']))).code).toBe('CUSTODY_LEGAL_HOLD');
    expect(count('run-held')).toBe(2);
    const verification = verifyLedger(await readAll(store), {
      checkpoints: await store.listCheckpoints(),
      keys,
    });
    // The unsigned record the careless caller appended is reported; nothing was deleted for it.
    expect(verification).toMatchObject({ ok: false, problem: { code: 'OPERATOR_UNSIGNED' } });
  });
});

describe('forged prune records: the store deletes (it checks no signatures), verification catches them', () => {
  it('an unsigned record cannot hide a checkpointed run', async () => {
    const { signer, keys } = operatorKey('operator-key');
    const ledger = createLedger({ store, signer });
    const [victim, kept] = [runEvents('run-victim', 3), runEvents('run-kept', 2)];
    await store.append([...victim, ...kept]);
    await ledger.checkpoint();
    expect(verifyLedger(await readAll(store), { checkpoints: await store.listCheckpoints(), keys }).ok).toBe(
      true,
    );
    // Anyone who can append (here: another process opening the file) writes the record and deletes.
    const attacker = createSqliteLedgerStore({ path });
    try {
      await attacker.append([forgedPruneRecord('tenant-a', [victim], undefined)]);
      expect(await attacker.deleteStreams(['run-victim'])).toBe(3);
    } finally {
      await attacker.close();
    }
    expect(
      verifyLedger(await readAll(store), { checkpoints: await store.listCheckpoints(), keys }),
    ).toMatchObject({ ok: false, problem: { code: 'OPERATOR_UNSIGNED', kind: 'forged' } });
  });

  it('nor can a record signed by a key verification does not trust', async () => {
    const { signer, keys } = operatorKey('operator-key');
    const { signer: mallory } = operatorKey('mallory-key');
    const ledger = createLedger({ store, signer });
    const victim = runEvents('run-victim', 3);
    await store.append(victim);
    await ledger.checkpoint();
    const record = forgedPruneRecord('tenant-a', [victim], undefined);
    await store.append([await signedAgain(record, undefined, mallory)]);
    expect(await store.deleteStreams(['run-victim'])).toBe(3);
    expect(
      verifyLedger(await readAll(store), { checkpoints: await store.listCheckpoints(), keys }),
    ).toMatchObject({ ok: false, problem: { code: 'OPERATOR_UNKNOWN_KEY', kind: 'forged' } });
  });

  it('a prune through createLedger with the operator key verifies', async () => {
    const { signer, keys } = operatorKey();
    const ledger = createLedger({
      store,
      signer,
      clock: { now: () => Date.parse('2031-01-01T00:00:00.000Z') },
    });
    const [old, kept] = [runEvents('run-old', 3), runEvents('run-kept', 2, { tenant: 'tenant-b' })];
    await store.append([...old, ...kept]);
    await ledger.checkpoint();
    expect(
      await ledger.prune({ tenant: 'tenant-a', before: '2030-12-01T00:00:00.000Z', ...REQUEST }),
    ).toEqual({
      runs: 1,
      events: 3,
    });
    expect(count('run-old')).toBe(0);
    expect(await ledger.verify({ keys })).toMatchObject({ ok: true, signedOperatorRecords: 1 });
  });
});

describe('erasePayload refuses, erasing nothing, unless the erasure is recorded and no hold covers it', () => {
  it('without a record, or with one that names another hash, sits in another stream or is no redaction', async () => {
    const run = runEvents('run-a', 3, { payload: (i) => ({ secret: `s-${i}` }) });
    const other = runEvents('run-b', 1);
    await store.append([...run, ...other]);
    const target = run[1]!;
    let error = await refusal(store.erasePayload(target.id));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect(error.message).toBe(
      `[custody] no ledger.redacted record in stream run-a names event ${target.id} with its payload hash; redact through createLedger().redact`,
    );
    expect(error.details).toEqual({ eventId: target.id, stream: 'run-a' });
    const wrongHash = forgedRedactionRecord(target, run[2]!, { payloadHash: run[0]!.payloadHash });
    const wrongId = forgedRedactionRecord(target, wrongHash, { eventId: run[0]!.id });
    const notRedaction = forgedRedactionRecord(target, wrongId, {}, { type: 'ledger.exported' });
    const elsewhere = forgedRedactionRecord(target, other[0]!, {}, { stream: 'run-b', runId: 'run-b' });
    await store.append([wrongHash, wrongId, notRedaction, elsewhere]);
    error = await refusal(store.erasePayload(target.id));
    expect(error.code).toBe('CUSTODY_STORE_ERROR');
    expect((await readAll(store, { stream: 'run-a' }))[1]!.payload).toEqual({ secret: 's-1' });
    await store.append([forgedRedactionRecord(target, notRedaction)]);
    expect(await store.erasePayload(target.id)).toBe(true);
    expect((await readAll(store, { stream: 'run-a' }))[1]).toMatchObject({ payload: null, salt: null });
  });

  it('for a held run or tenant, even with its record', async () => {
    const run = runEvents('run-a', 2, { payload: (i) => ({ secret: `s-${i}` }) });
    await store.append(run);
    const record = forgedRedactionRecord(run[0]!, run[1]!);
    const hold = holdEvent('ledger.hold_placed', 'tenant-a', 'run-a', undefined);
    await store.append([record, hold]);
    const error = await refusal(store.erasePayload(run[0]!.id));
    expect(error.code).toBe('CUSTODY_LEGAL_HOLD');
    expect(error.message).toBe(
      `[custody] event ${run[0]!.id} cannot be erased: run run-a of tenant tenant-a is under legal hold; release the hold first (createLedger().releaseHold)`,
    );
    const released = holdEvent('ledger.hold_released', 'tenant-a', 'run-a', hold);
    const tenantHold = holdEvent('ledger.hold_placed', 'tenant-a', null, released);
    await store.append([released, tenantHold]);
    expect((await refusal(store.erasePayload(run[0]!.id))).message).toMatch(
      /tenant tenant-a is under legal hold/,
    );
    expect((await head('run-a'))!.id).toBe(record.id);
    expect((await readAll(store, { stream: 'run-a' }))[0]!.payload).toEqual({ secret: 's-0' });
    await store.append([holdEvent('ledger.hold_released', 'tenant-a', null, tenantHold)]);
    expect(await store.erasePayload(run[0]!.id)).toBe(true);
    expect(await store.erasePayload(run[0]!.id), 'again: already erased').toBe(true);
    expect(await store.erasePayload('run-a:99'), 'an unknown id').toBe(false);
    expect((await readAll(store, { stream: 'run-a' }))[0]).toMatchObject({ payload: null, salt: null });
  });

  it('a forged (unsigned) redaction lets the store erase, and verification with the operator key catches it', async () => {
    const { signer, keys } = operatorKey();
    const ledger = createLedger({ store, signer });
    const run = runEvents('run-a', 3, { payload: (i) => ({ secret: `s-${i}` }) });
    await store.append(run);
    await ledger.checkpoint();
    await store.append([forgedRedactionRecord(run[0]!, run[2]!)]);
    expect(await store.erasePayload(run[0]!.id)).toBe(true);
    expect(
      verifyLedger(await readAll(store), { checkpoints: await store.listCheckpoints(), keys }),
    ).toMatchObject({
      ok: false,
      problem: { code: 'OPERATOR_UNSIGNED', kind: 'forged' },
    });
  });

  it('a redaction through createLedger with the operator key verifies', async () => {
    const { signer, keys } = operatorKey();
    const ledger = createLedger({ store, signer });
    const run = runEvents('run-a', 3, { payload: (i) => ({ secret: `s-${i}` }) });
    await store.append(run);
    await ledger.redact(run[1]!.id, REQUEST);
    expect((await readAll(store, { stream: 'run-a' }))[1]).toMatchObject({ payload: null, salt: null });
    await ledger.checkpoint();
    const verification = await ledger.verify({ keys });
    expect(verification.ok ? 'ok' : verification.problem.message).toBe('ok');
    expect(verification).toMatchObject({ ok: true, redacted: 1, signedOperatorRecords: 1 });
  });
});

describe('another connection to the file (the sqlite3 shell, another program)', () => {
  it('cannot DELETE, erase or rewrite events, even with a committed prune grant', async () => {
    const run = runEvents('run-a', 3);
    await store.append([...run, forgedPruneRecord('tenant-a', [run], undefined)]);
    const id = run[0]!.id;
    shell((db) => {
      for (const sql of [
        "DELETE FROM custody_events WHERE stream = 'run-a'",
        'DELETE FROM custody_events',
        `UPDATE custody_events SET payload = NULL, salt = NULL, tool = NULL, outcome = NULL WHERE id = '${id}'`,
        `UPDATE custody_events SET payload = NULL WHERE id = '${id}'`,
      ]) {
        expect(() => db.exec(sql), sql).toThrow(/no such function: custody_may_(delete_stream|erase_event)/);
      }
      expect(() =>
        db.exec(`UPDATE custody_events SET payload = '{"forged":true}' WHERE id = '${id}'`),
      ).toThrow(/no such function|append-only/);
      expect(() => db.exec("UPDATE custody_events SET ts = 'x'")).toThrow(/no such function|append-only/);
      // The attack on schema 4: a grant committed in the table let this connection's DELETE through.
      expect(() =>
        db.transaction(() => {
          db.prepare('INSERT INTO custody_prune_grants (stream) VALUES (?)').run('run-a');
          db.prepare('DELETE FROM custody_events WHERE stream = ?').run('run-a');
        })(),
      ).toThrow(/no such table: custody_prune_grants|no such function/);
      // Re-creating the table opens nothing: no trigger reads it any more.
      db.exec('CREATE TABLE custody_prune_grants (stream TEXT PRIMARY KEY)');
      db.prepare('INSERT INTO custody_prune_grants (stream) VALUES (?)').run('run-a');
      expect(() => db.exec("DELETE FROM custody_events WHERE stream = 'run-a'")).toThrow(/no such function/);
    });
    expect(count('run-a')).toBe(3);
    expect((await readAll(store, { stream: 'run-a' }))[0]!.payload).toEqual(run[0]!.payload);
    // The store's own path still works, for what its guards allow.
    expect(await store.deleteStreams(['run-a'])).toBe(3);
  });

  it('a file of schema 4 with a committed grant is migrated: the table goes, the DELETE stays refused', async () => {
    await store.close();
    rmSync(path, { force: true });
    const old = new Database(path);
    old.pragma('journal_mode = WAL');
    for (const migration of MIGRATIONS.slice(0, 4)) old.exec(migration);
    old.pragma('user_version = 4');
    const run = runEvents('run-a', 2);
    const insert = old.prepare(
      'INSERT INTO custody_events (id, stream, seq, schema_version, run_id, trace_id, span_id, ts, type, tenant, ' +
        'actor, payload_hash, prev_hash, hash, payload, salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
    );
    for (const e of run) {
      insert.run(
        e.id,
        e.stream,
        e.seq,
        e.schemaVersion,
        e.runId,
        e.traceId,
        e.spanId,
        e.ts,
        e.type,
        e.tenant,
        e.actor,
        e.payloadHash,
        e.prevHash,
        e.hash,
        canonicalize(e.payload),
        e.salt,
      );
    }
    old.prepare('INSERT INTO custody_prune_grants (stream) VALUES (?)').run('run-a');
    old.close();

    store = createSqliteLedgerStore({ path });
    shell((db) => {
      expect(db.pragma('user_version', { simple: true })).toBe(SQLITE_SCHEMA_VERSION);
      expect(db.prepare("SELECT name FROM sqlite_master WHERE name = 'custody_prune_grants'").all()).toEqual(
        [],
      );
      expect(() => db.exec('DELETE FROM custody_events')).toThrow(/no such function/);
    });
    expect((await refusal(store.deleteStreams(['run-a']))).code).toBe('CUSTODY_STORE_ERROR');
    expect(count('run-a')).toBe(2);
  });
});
