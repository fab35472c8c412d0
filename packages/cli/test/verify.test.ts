import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cli,
  createSqliteLedgerFixture,
  FIXTURE_RUNS,
  type SqliteLedgerFixture,
  tamperSqlite,
} from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
let keys: string;
let otherKeys: string;

beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
  keys = join(fixture.dir, 'keys');
  otherKeys = join(fixture.dir, 'other-keys');
  expect((await cli(['keygen', '-o', keys, '--key-id', 'ledger-test'])).code).toBe(0);
  expect((await cli(['keygen', '-o', otherKeys, '--key-id', 'intruder'])).code).toBe(0);
});
afterAll(() => fixture.remove());

/** A copy of the fixture ledger with a signed checkpoint stored in it. */
async function checkpointedCopy(name: string): Promise<string> {
  const path = fixture.copy(name);
  const result = await cli([
    'checkpoint',
    path,
    '--key',
    join(keys, 'private.pem'),
    '--key-id',
    'ledger-test',
  ]);
  expect(result.code, result.stderr).toBe(0);
  return path;
}

describe('custody verify on a SQLite ledger', () => {
  it('passes an untouched ledger and prints the counts', async () => {
    const result = await cli(['verify', fixture.path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/events\s+19\n/);
    expect(result.stdout).toMatch(/streams\s+3\n/);
    expect(result.stdout).toMatch(/checkpoints\s+0\n/);
    expect(result.stdout).toMatch(/redactions\s+0\n/);
    expect(result.stdout).toContain('note: no checkpoint');
    expect(result.stdout).toContain('OK: every event and link verifies');
  });

  it('prints JSON with --json', async () => {
    const result = await cli(['verify', fixture.path, '--json']);
    expect(result.code).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      ok: true,
      source: { kind: 'sqlite' },
      events: 19,
      streams: 3,
      checkpoints: 0,
      redactions: 0,
    });
  });

  it('fails with PAYLOAD_MISMATCH when a payload is edited in the file', async () => {
    const path = fixture.copy('edited-payload.db');
    tamperSqlite(
      path,
      `UPDATE custody_events SET payload = replace(payload, '"amountCents":500', '"amountCents":50') WHERE id = 'run_0001:5'`,
    );
    const result = await cli(['verify', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: PAYLOAD_MISMATCH (altered)');
    expect(result.stdout).toMatch(/event\s+run_0001:5 \(stream run_0001, seq 5, index 5\)/);
    expect(result.stdout).toContain('event run_0001:5 payload was altered');
    const json = JSON.parse((await cli(['verify', path, '--json'])).stdout);
    expect(json).toMatchObject({
      ok: false,
      events: 19,
      problem: { code: 'PAYLOAD_MISMATCH', kind: 'altered', index: 5, eventId: 'run_0001:5' },
    });
  });

  it('fails with HASH_MISMATCH when an envelope is rewritten', async () => {
    const path = fixture.copy('edited-envelope.db');
    tamperSqlite(path, `UPDATE custody_events SET actor = 'user:mallory' WHERE id = 'run_0002:0'`);
    const result = await cli(['verify', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: HASH_MISMATCH (altered)');
    expect(result.stdout).toContain('run_0002:0');
  });

  it('fails with TRUNCATED when a checkpointed tail is deleted (unnoticed without a checkpoint)', async () => {
    const bare = fixture.copy('truncated-bare.db');
    tamperSqlite(bare, `DELETE FROM custody_events WHERE id = 'run_0001:9'`);
    expect((await cli(['verify', bare])).code).toBe(0);

    const path = await checkpointedCopy('truncated.db');
    tamperSqlite(path, `DELETE FROM custody_events WHERE id = 'run_0001:9'`);
    const result = await cli(['verify', path, '--key', `ledger-test=${join(keys, 'public.pem')}`]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: TRUNCATED (truncated)');
    expect(result.stdout).toContain('stream run_0001 ends at seq 8 but a checkpoint saw seq 9');
  });

  it('verifies one run with --run, and fails for a run with no events', async () => {
    const result = await cli(['verify', fixture.path, '--run', FIXTURE_RUNS.denied]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`run ${FIXTURE_RUNS.denied}`);
    expect(result.stdout).toMatch(/events\s+4\n/);
    const missing = await cli(['verify', fixture.path, '--run', 'run_9999']);
    expect(missing.code).toBe(1);
    expect(missing.stdout).toContain('FAILED: RUN_NOT_FOUND');
  });
});

describe('keygen, checkpoint and verify --key', () => {
  it('writes an Ed25519 pair with a private key readable by its owner only', () => {
    expect(statSync(join(keys, 'private.pem')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(keys, 'private.pem'), 'utf8')).toContain('BEGIN PRIVATE KEY');
    expect(readFileSync(join(keys, 'public.pem'), 'utf8')).toContain('BEGIN PUBLIC KEY');
  });

  it('refuses to overwrite a key pair without --force', async () => {
    const result = await cli(['keygen', '-o', keys, '--key-id', 'ledger-test']);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('already exists; pass --force');
  });

  it('stores a signed checkpoint that verify checks with the public key', async () => {
    const path = fixture.copy('signed.db');
    const checkpoint = await cli([
      'checkpoint',
      path,
      '--key',
      join(keys, 'private.pem'),
      '--key-id',
      'ledger-test',
      '--json',
    ]);
    expect(checkpoint.code, checkpoint.stderr).toBe(0);
    expect(JSON.parse(checkpoint.stdout)).toMatchObject({
      count: 19,
      signature: { keyId: 'ledger-test', algorithm: 'ed25519' },
    });

    const named = await cli(['verify', path, '--key', `ledger-test=${join(keys, 'public.pem')}`]);
    expect(named.code).toBe(0);
    expect(named.stdout).toContain('checkpoints  1 (1 signed with ledger-test; signatures verified)');
    expect(named.stdout).toMatch(/latest\s+\d{4}-\d\d-\d\dT[\d:.]+Z, covering 19 events\n/);

    // A bare path takes the key id the checkpoints were signed with.
    const bare = await cli(['verify', path, '--key', join(keys, 'public.pem')]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toContain('signatures verified');

    const unchecked = await cli(['verify', path]);
    expect(unchecked.code).toBe(0);
    expect(unchecked.stdout).toContain('signatures not checked');
    expect(unchecked.stdout).toContain('no --key was given');
  });

  it('fails on a signature by another key, or an unknown key id', async () => {
    const path = await checkpointedCopy('wrong-key.db');
    const forged = await cli(['verify', path, '--key', `ledger-test=${join(otherKeys, 'public.pem')}`]);
    expect(forged.code).toBe(1);
    expect(forged.stdout).toContain('FAILED: SIG_INVALID (forged)');
    const unknown = await cli(['verify', path, '--key', `intruder=${join(otherKeys, 'public.pem')}`]);
    expect(unknown.code).toBe(1);
    expect(unknown.stdout).toContain('FAILED: UNKNOWN_KEY (forged)');
  });

  it('fails with CHECKPOINT_MISSING when a key is given but nothing was checkpointed', async () => {
    const result = await cli(['verify', fixture.path, '--key', join(keys, 'public.pem')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: CHECKPOINT_MISSING (unverifiable)');
  });

  it('takes --key-id for a bare key path', async () => {
    const path = await checkpointedCopy('key-id.db');
    const result = await cli(['verify', path, '--key', join(keys, 'public.pem'), '--key-id', 'ledger-test']);
    expect(result.code).toBe(0);
  });

  it('asks which key a bare path is when the checkpoints use several', async () => {
    const path = await checkpointedCopy('two-keys.db');
    expect(
      (await cli(['checkpoint', path, '--key', join(otherKeys, 'private.pem'), '--key-id', 'intruder'])).code,
    ).toBe(0);
    const result = await cli(['verify', path, '--key', join(keys, 'public.pem')]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('signed with 2 keys (ledger-test, intruder)');
    const both = await cli([
      'verify',
      path,
      '--key',
      `ledger-test=${join(keys, 'public.pem')}`,
      '--key',
      `intruder=${join(otherKeys, 'public.pem')}`,
    ]);
    expect(both.code).toBe(0);
    expect(both.stdout).toContain('2 checkpoints signed by a trusted key vouch');
  });

  it('warns when given a private key to verify with', async () => {
    const path = await checkpointedCopy('private-as-public.db');
    const result = await cli(['verify', path, '--key', `ledger-test=${join(keys, 'private.pem')}`]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is a private key; verifying needs only the public key');
  });

  it('warns when the signing key is readable by others', async () => {
    const loose = join(fixture.dir, 'loose.pem');
    writeFileSync(loose, readFileSync(join(keys, 'private.pem')), { mode: 0o644 });
    const result = await cli([
      'checkpoint',
      fixture.copy('loose.db'),
      '--key',
      loose,
      '--key-id',
      'ledger-test',
    ]);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('is readable by others (mode 0644): chmod 600');
  });
});

describe('exports', () => {
  let store: string;
  let exported: string;
  beforeAll(async () => {
    store = await checkpointedCopy('exported.db');
    exported = join(fixture.dir, 'audit.jsonl');
    const result = await cli([
      'export',
      store,
      '--format',
      'jsonl',
      '-o',
      exported,
      '--requested-by',
      'user:auditor@acme.com',
      '--reason',
      'annual audit',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('wrote 19 events');
  });

  it('verifies offline with the public key', async () => {
    const result = await cli(['verify', exported, '--key', `ledger-test=${join(keys, 'public.pem')}`]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('(JSONL export)');
    expect(result.stdout).toMatch(/events\s+19\n/);
    expect(result.stdout).toContain('signatures verified');
  });

  it('fails when an event is edited, even in canonical form', async () => {
    const edited = join(fixture.dir, 'edited.jsonl');
    writeFileSync(edited, readFileSync(exported, 'utf8').replace('"amountCents":500', '"amountCents":50'));
    const result = await cli(['verify', edited, '--key', join(keys, 'public.pem')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: PAYLOAD_MISMATCH');
  });

  it('fails when a line is no longer canonical JSON, naming the line', async () => {
    const edited = join(fixture.dir, 'reformatted.jsonl');
    const lines = readFileSync(exported, 'utf8').split('\n');
    lines[3] = JSON.stringify(JSON.parse(lines[3]!), null, 1).replace(/\n/g, '');
    writeFileSync(edited, lines.join('\n'));
    const result = await cli(['verify', edited]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: MALFORMED (malformed)');
    expect(result.stdout).toMatch(/line\s+4\n/);
    expect(JSON.parse((await cli(['verify', edited, '--json'])).stdout)).toMatchObject({
      ok: false,
      problem: { code: 'MALFORMED', line: 4 },
    });
  });

  it('fails when a line is not JSON at all', async () => {
    const edited = join(fixture.dir, 'broken.jsonl');
    const lines = readFileSync(exported, 'utf8').split('\n');
    lines[2] = lines[2]!.slice(0, 40);
    writeFileSync(edited, lines.join('\n'));
    const result = await cli(['verify', edited, '--json']);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({ ok: false, problem: { code: 'MALFORMED', line: 3 } });
  });

  it('fails when a run is cut short in the file', async () => {
    const edited = join(fixture.dir, 'cut.jsonl');
    const lines = readFileSync(exported, 'utf8')
      .split('\n')
      .filter((line) => !line.includes('"id":"run_0001:9"'));
    writeFileSync(edited, lines.join('\n'));
    const result = await cli(['verify', edited, '--key', join(keys, 'public.pem')]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('FAILED: TRUNCATED');
  });

  it('verifies an export of one run against the whole-ledger checkpoint', async () => {
    const one = join(fixture.dir, 'one-run.jsonl');
    const result = await cli([
      'export',
      store,
      '-o',
      one,
      '--run',
      FIXTURE_RUNS.refunded,
      '--requested-by',
      'user:dpo',
      '--reason',
      'DSAR #77',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('wrote 10 events');
    const verified = await cli(['verify', one, '--key', join(keys, 'public.pem')]);
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/streams\s+1\n/);
  });

  it('explains why an export filtered inside runs cannot verify', async () => {
    const refunds = join(fixture.dir, 'refunds.jsonl');
    const result = await cli([
      'export',
      store,
      '-o',
      refunds,
      '--tool',
      'payments.refund',
      '--requested-by',
      'user:cfo',
      '--reason',
      'refund review',
    ]);
    expect(result.code).toBe(0);
    const verified = await cli(['verify', refunds]);
    expect(verified.code).toBe(1);
    expect(verified.stdout).toContain('note: the export was filtered by tool');
  });
});
