import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type ChainHead, CustodyError, type LedgerEvent, readAll } from '@custody/core';
import { canonicalize, sealEvent } from '@custody/core/ledger';
import { forgedPruneRecord, forgedRedactionRecord } from '@custody/store-conformance';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createSqliteLedgerStore } from '../src/index.js';
import { MIGRATIONS, SQLITE_SCHEMA_VERSION } from '../src/sqlite-schema.js';
import { asFileOwner } from './raw-sqlite.js';

let dir: string;
let path: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-sqlite-outcome-'));
  path = join(dir, 'ledger.db');
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

/**
 * Payloads and the outcome each records: `payload.status ?? payload.outcome ?? payload.effect`,
 * when that is a string (null and missing fall through; any other value means no outcome).
 */
const OUTCOMES: [unknown, string | null][] = [
  [{ tool: 'jira.create', status: 'ok' }, 'ok'],
  [{ outcome: 'succeeded' }, 'succeeded'],
  [{ effect: 'deny', ruleIds: ['r1'] }, 'deny'],
  [{ status: null, outcome: 'failed' }, 'failed'],
  [{ status: 7, outcome: 'ok' }, null],
  [{ status: 'ok', outcome: 'other', effect: 'allow' }, 'ok'],
  ['ok', null],
  [['ok'], null],
  [{ result: { status: 'ok' } }, null],
  [{ status: '' }, ''],
  [{ status: { code: 'ok' } }, null],
  [{ status: false, effect: 'allow' }, null],
  [{}, null],
  [42, null],
  [{ status: 'ünïcödé ✓ 😀' }, 'ünïcödé ✓ 😀'],
  [{ status: 'quote " backslash \\ newline \n' }, 'quote " backslash \\ newline \n'],
  [{ outcome: ['x'] }, null],
  [{ effect: 'allow' }, 'allow'],
  [{ status: 'nul\u0000inside' }, 'nul\u0000inside'],
  [{ note: 'U+0000 elsewhere: \u0000', 'key\u0000': 1, status: 'ok' }, 'ok'],
];

function events(stream = 'run'): LedgerEvent[] {
  const list: LedgerEvent[] = [];
  let prev: ChainHead | undefined;
  OUTCOMES.forEach(([payload], i) => {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date(Date.UTC(2030, 0, 1) + i).toISOString(),
        type: i % 3 === 0 ? 'tool.result' : 'policy.decided',
        tenant: 'tenant-a',
        actor: 'agent:test@1.0.0',
        payload,
      },
      prev,
    );
    list.push(event);
    prev = { seq: event.seq, hash: event.hash };
  });
  return list;
}

const storedOutcomes = () =>
  asFileOwner(path, (db) =>
    (db.prepare('SELECT outcome FROM custody_events ORDER BY pos').all() as { outcome: string | null }[]).map(
      (row) => row.outcome,
    ),
  );

const expectedIds = (all: LedgerEvent[], outcome: string) =>
  all.filter((_, i) => OUTCOMES[i]![1] === outcome).map((event) => event.id);

describe('the outcome column', () => {
  it('is filled at append time, indexed, and filters reads', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const all = events();
    await ledger.append(all.slice(0, 7));
    await ledger.append(all.slice(7));
    expect(storedOutcomes()).toEqual(OUTCOMES.map(([, outcome]) => outcome));
    for (const outcome of [
      'ok',
      'succeeded',
      'deny',
      'failed',
      'allow',
      '',
      'ünïcödé ✓ 😀',
      'nul\u0000inside',
      'nul',
      '7',
    ]) {
      const read = await readAll(ledger, { outcome, limit: 2 });
      expect(
        read.map((event) => event.id),
        `outcome ${JSON.stringify(outcome)}`,
      ).toEqual(expectedIds(all, outcome));
    }
    expect((await readAll(ledger, { outcome: 'ok', type: 'tool.result' })).map((event) => event.id)).toEqual([
      all[0]!.id,
    ]);
    const plan = asFileOwner(path, (db) =>
      db
        .prepare('EXPLAIN QUERY PLAN SELECT pos FROM custody_events WHERE outcome = ? ORDER BY pos LIMIT ?')
        .all('ok', 10),
    );
    expect(JSON.stringify(plan)).toMatch(/custody_events_outcome/);
    await ledger.close();
  });

  it('is erased with the payload, and cannot be erased or changed on its own', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const all = events();
    await ledger.append([...all, forgedRedactionRecord(all[0]!, all.at(-1)!)]);
    expect(await ledger.erasePayload(all[0]!.id)).toBe(true);
    expect(storedOutcomes()[0]).toBeNull();
    expect((await readAll(ledger, { outcome: 'ok' })).map((event) => event.id)).toEqual(
      expectedIds(all, 'ok').slice(1),
    );
    const db = new Database(path);
    try {
      for (const sql of [
        `UPDATE custody_events SET outcome = NULL WHERE id = '${all[1]!.id}'`,
        `UPDATE custody_events SET outcome = 'forged' WHERE id = '${all[1]!.id}'`,
        `UPDATE custody_events SET payload = NULL, salt = NULL, tool = NULL WHERE id = '${all[1]!.id}'`,
      ]) {
        expect(() => db.exec(sql), sql).toThrow(/no such function|append-only/);
      }
    } finally {
      db.close();
    }
    await ledger.close();
  });

  it('refuses an outcome filter that is not a string', async () => {
    const ledger = createSqliteLedgerStore({ path });
    for (const outcome of [1, null, ['ok']]) {
      const error = await ledger.read({ outcome } as never).then(
        () => undefined,
        (reason: unknown) => reason,
      );
      expect(CustodyError.isInstance(error) && error.code, JSON.stringify(outcome)).toBe(
        'CUSTODY_INVALID_ARGUMENT',
      );
    }
    await ledger.close();
  });
});

describe('upgrading a file written before retention and outcomes (schema version 2)', () => {
  it('fills in the outcome of stored events, keeps DELETE refused, and erasure and deleteStreams work', async () => {
    const all = events();
    const old = new Database(path);
    old.exec(MIGRATIONS[0]!);
    old.exec(MIGRATIONS[1]!);
    old.pragma('user_version = 2');
    const insert = old.prepare(
      'INSERT INTO custody_events (id, stream, seq, schema_version, run_id, trace_id, span_id, ts, type, tenant, ' +
        'actor, tool, payload_hash, prev_hash, hash, payload, salt) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)',
    );
    for (const e of all) {
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
    old.close();

    const ledger = createSqliteLedgerStore({ path });
    expect(asFileOwner(path, (db) => db.pragma('user_version', { simple: true }))).toBe(
      SQLITE_SCHEMA_VERSION,
    );
    expect(storedOutcomes(), 'outcomes filled in by the migration, as append would').toEqual(
      OUTCOMES.map(([, outcome]) => outcome),
    );
    expect((await readAll(ledger, { outcome: 'failed' })).map((event) => event.id)).toEqual(
      expectedIds(all, 'failed'),
    );
    const shell = new Database(path);
    expect(() => shell.exec('DELETE FROM custody_events')).toThrow(/no such function/);
    shell.close();
    const redaction = forgedRedactionRecord(all[3]!, all.at(-1)!);
    await ledger.append([redaction]);
    expect(await ledger.erasePayload(all[3]!.id)).toBe(true);
    expect(await readAll(ledger, { outcome: 'failed' })).toEqual([]);
    await ledger.append([forgedPruneRecord('tenant-a', [[...all, redaction]], undefined)]);
    expect(await ledger.deleteStreams(['run'])).toBe(all.length + 1);
    await ledger.close();
  });
});

describe('a payload changed outside Custody into text that is not JSON', () => {
  it('fails the read with CUSTODY_STORE_ERROR naming the event, instead of a bare SyntaxError', async () => {
    const ledger = createSqliteLedgerStore({ path });
    const all = events();
    await ledger.append(all);
    asFileOwner(path, (db) =>
      db.prepare('UPDATE custody_events SET payload = \'{"status":\' WHERE id = ?').run(all[4]!.id),
    );
    const error = await readAll(ledger).then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_STORE_ERROR');
    expect((error as CustodyError).message).toContain(
      `the stored payload of event ${all[4]!.id} is not JSON`,
    );
    expect((error as CustodyError).details).toMatchObject({ eventId: all[4]!.id });
    await ledger.close();
  });
});
