import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('support-triage demo (main.ts)', () => {
  it('runs twice against one SQLite file and verifies the whole ledger against the signed checkpoints', async () => {
    const db = join(mkdtempSync(join(tmpdir(), 'custody-demo-')), 'ledger.db');
    const options = {
      cwd: join(import.meta.dirname, '..'),
      env: { ...process.env, CUSTODY_DB: db, NO_COLOR: '1' },
    };
    const args = ['--import', 'tsx', '--conditions=@custody/source', 'src/main.ts'];
    const first = await run(process.execPath, args, options);
    expect(first.stdout).toContain('gmail.send → DENY by support@2026-11-01 [gmail-no-send]');
    expect(first.stdout).toMatch(
      /Whole ledger .*: 32 events in 1 streams, 1 signed checkpoint\(s\), all verified\./,
    );
    const second = await run(process.execPath, args, options);
    expect(second.stdout).toMatch(
      /Whole ledger .*: 64 events in 2 streams, 2 signed checkpoint\(s\), all verified\./,
    );
  }, 60_000);
});
