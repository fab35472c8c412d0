import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteLedgerFixture, type SqliteLedgerFixture } from './ledger-fixture.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs src/cli.ts as the `custody` binary would run, through tsx, against workspace sources. */
function custody(...args: string[]) {
  return spawnSync(
    process.execPath,
    ['--import', 'tsx', '--conditions=@custody/source', 'src/cli.ts', ...args],
    { cwd: packageDir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
  );
}

let fixture: SqliteLedgerFixture;
beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
});
afterAll(() => fixture.remove());

describe('the custody entry point', () => {
  it('prints help and exits 0', () => {
    const result = custody('--help');
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('Usage: custody <command> [options]');
  }, 60_000);

  it('sets the exit code: 0 when a ledger verifies, 2 on a usage error', () => {
    const verified = custody('verify', fixture.path);
    expect(verified.status, verified.stderr).toBe(0);
    expect(verified.stdout).toContain('OK: every event and link verifies');
    const usage = custody('verify');
    expect(usage.status).toBe(2);
    expect(usage.stderr).toContain('custody verify: missing <store>');
  }, 60_000);
});
