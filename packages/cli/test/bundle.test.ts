import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadBundle } from '@custody/replay';
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

describe('custody bundle', () => {
  it("writes a run's verified replay bundle to a file", async () => {
    const output = join(fixture.dir, 'refunded.bundle.json');
    const result = await cli(['bundle', fixture.path, FIXTURE_RUNS.refunded, '-o', output]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      `custody bundle: wrote run ${FIXTURE_RUNS.refunded} (2 steps, 10 events, outcome succeeded) from ${fixture.path} (SQLite) to ${output}; every event verified\n`,
    );
    const bundle = loadBundle(readFileSync(output, 'utf8'));
    expect(bundle.run).toMatchObject({ runId: FIXTURE_RUNS.refunded, tenant: 'acme', outcome: 'succeeded' });
    expect(bundle.steps.map((step) => step.kind === 'tool' && [step.tool, step.result.status])).toEqual([
      ['orders.lookup', 'ok'],
      ['payments.refund', 'ok'],
    ]);
  });

  it('prints the bundle without -o, and a summary with -o --json', async () => {
    const printed = await cli(['bundle', fixture.path, FIXTURE_RUNS.denied]);
    expect(printed.code).toBe(0);
    expect(loadBundle(printed.stdout).run).toMatchObject({ runId: FIXTURE_RUNS.denied, outcome: 'failed' });
    const output = join(fixture.dir, 'denied.bundle.json');
    const summary = await cli(['bundle', fixture.path, FIXTURE_RUNS.denied, '-o', output, '--json']);
    expect(JSON.parse(summary.stdout)).toEqual({
      file: output,
      runId: FIXTURE_RUNS.denied,
      outcome: 'failed',
      steps: 1,
      events: 4,
      tools: ['orders.lookup@1.0.0', 'payments.refund@1.0.0'],
    });
  });

  it('refuses a tampered run with the verification problem, and writes nothing', async () => {
    const path = fixture.copy('tampered-bundle.db');
    tamperSqlite(
      path,
      `UPDATE custody_events SET payload = replace(payload, '"amountCents":500', '"amountCents":50') WHERE id = 'run_0001:5'`,
    );
    const output = join(fixture.dir, 'tampered.bundle.json');
    const result = await cli(['bundle', path, FIXTURE_RUNS.refunded, '-o', output]);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `custody bundle: run ${FIXTURE_RUNS.refunded} does not verify (PAYLOAD_MISMATCH, altered at event 5): event run_0001:5 payload was altered; no bundle was made\n`,
    );
    expect(existsSync(output)).toBe(false);
    // Another run of the same file still bundles.
    expect((await cli(['bundle', path, FIXTURE_RUNS.denied])).code).toBe(0);
  });

  it('checks checkpoint signatures with --key', async () => {
    const path = fixture.copy('signed-bundle.db');
    const signed = await cli([
      'checkpoint',
      path,
      '--key',
      join(keys, 'private.pem'),
      '--key-id',
      'ledger-test',
    ]);
    expect(signed.code, signed.stderr).toBe(0);
    const trusted = await cli([
      'bundle',
      path,
      FIXTURE_RUNS.refunded,
      '--key',
      `ledger-test=${join(keys, 'public.pem')}`,
    ]);
    expect(trusted.code, trusted.stderr).toBe(0);
    const bare = await cli(['bundle', path, FIXTURE_RUNS.refunded, '--key', join(keys, 'public.pem')]);
    expect(bare.code, bare.stderr).toBe(0);
    const intruder = await cli([
      'bundle',
      path,
      FIXTURE_RUNS.refunded,
      '--key',
      `ledger-test=${join(otherKeys, 'public.pem')}`,
    ]);
    expect(intruder.code).toBe(1);
    expect(intruder.stderr).toMatch(/^custody bundle: run run_0001 does not verify \(SIG_INVALID/);
    const unsigned = await cli([
      'bundle',
      fixture.path,
      FIXTURE_RUNS.refunded,
      '--key',
      `ledger-test=${join(keys, 'public.pem')}`,
    ]);
    expect(unsigned.code).toBe(1);
    expect(unsigned.stderr).toContain('does not verify');
  });

  it('bundles a run from a JSONL export', async () => {
    const exported = join(fixture.dir, 'bundle-export.jsonl');
    const store = fixture.copy('bundle-export.db');
    const args = ['--requested-by', 'user:auditor', '--reason', 'incident 7'];
    expect((await cli(['export', store, '-o', exported, ...args])).code).toBe(0);
    const result = await cli(['bundle', exported, FIXTURE_RUNS.refunded]);
    expect(result.code, result.stderr).toBe(0);
    expect(loadBundle(result.stdout).events).toHaveLength(10);
    const lines = readFileSync(exported, 'utf8').split('\n');
    const edited = lines.map((line) => line.replace('"amountCents":500', '"amountCents":5'));
    writeFileSync(exported, edited.join('\n'));
    const tampered = await cli(['bundle', exported, FIXTURE_RUNS.refunded]);
    expect(tampered.code).toBe(1);
    expect(tampered.stderr).toContain('PAYLOAD_MISMATCH');
  });

  it('fails for an unknown run with a pointer to custody runs', async () => {
    const result = await cli(['bundle', fixture.path, 'run_9999']);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe(
      `custody bundle: no events of run run_9999 in ${fixture.path} (SQLite); list the runs with: custody runs ${fixture.path}\n`,
    );
  });

  it('exits 2 on usage errors', async () => {
    const output = join(fixture.dir, 'exists.bundle.json');
    writeFileSync(output, '{}');
    const cases: [string[], string][] = [
      [['bundle', fixture.path], 'missing <runId>'],
      [
        ['bundle', fixture.path, FIXTURE_RUNS.refunded, '-o', output],
        'already exists; choose another file or pass --force',
      ],
      [
        ['bundle', fixture.path, FIXTURE_RUNS.refunded, '--json'],
        '--json describes the file written with -o',
      ],
      [
        ['bundle', fixture.path, FIXTURE_RUNS.refunded, '-o', join(fixture.dir, 'nope', 'x.json')],
        'does not exist; create it first',
      ],
      [['bundle', join(fixture.dir, 'missing.db'), FIXTURE_RUNS.refunded], 'does not exist'],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toContain(message);
    }
    expect(readFileSync(output, 'utf8')).toBe('{}');
    const forced = await cli(['bundle', fixture.path, FIXTURE_RUNS.refunded, '-o', output, '--force']);
    expect(forced.code).toBe(0);
    expect(loadBundle(readFileSync(output, 'utf8')).run.runId).toBe(FIXTURE_RUNS.refunded);
  });
});
