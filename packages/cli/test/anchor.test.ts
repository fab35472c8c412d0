import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { createLedger } from '@custody/core';
import { createSqliteLedgerStore } from '@custody/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, createSqliteLedgerFixture, type SqliteLedgerFixture } from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
let keys: string;
let publicKey: string;

beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
  keys = join(fixture.dir, 'keys');
  expect((await cli(['keygen', '-o', keys, '--key-id', 'ledger-test'])).code).toBe(0);
  publicKey = `ledger-test=${join(keys, 'public.pem')}`;
});
afterAll(() => fixture.remove());

function checkpoint(path: string, ...extra: string[]) {
  return cli(['checkpoint', path, '--key', join(keys, 'private.pem'), '--key-id', 'ledger-test', ...extra]);
}

/** Appends events to a ledger file the way an app keeps working: a hold, in a new stream. */
async function keepWriting(path: string, reason: string): Promise<void> {
  const store = createSqliteLedgerStore({ path });
  await createLedger({ store }).hold({ tenant: 'acme', requestedBy: 'user:counsel', reason });
  await store.close();
}

/** Puts an older copy of a ledger file back in place, as someone restoring a backup would. */
function restore(copy: string, path: string): void {
  for (const suffix of ['-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
  copyFileSync(copy, path);
}

describe('custody checkpoint --anchor and custody verify --anchor', () => {
  it('catch a ledger file restored from an older copy, which verifies against itself (exit 1)', async () => {
    const live = fixture.copy('live.db');
    const anchor = join(fixture.dir, 'anchor-folder/');
    const first = await checkpoint(live, '--anchor', anchor);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/anchored\s+.*anchor-folder\/checkpoint-.*\.json\n/);
    const old = join(fixture.dir, 'old-copy.db');
    copyFileSync(live, old);

    await keepWriting(live, 'case 1');
    expect((await checkpoint(live, '--anchor', anchor)).code).toBe(0);
    expect(readdirSync(anchor).filter((name) => name.endsWith('.json'))).toHaveLength(2);
    expect((await cli(['verify', live, '--key', publicKey, '--anchor', anchor])).code).toBe(0);

    restore(old, live);
    // The rolled-back file still verifies against the checkpoints it holds itself…
    const alone = await cli(['verify', live, '--key', publicKey]);
    expect(alone.code, alone.stdout).toBe(0);
    // …but not against the anchor kept outside it.
    const result = await cli(['verify', live, '--key', publicKey, '--anchor', anchor]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/anchor\s+.*anchor-folder\/: 2 checkpoints\n/);
    expect(result.stdout).toContain('FAILED: TRUNCATED (truncated)');
    expect(result.stdout).toMatch(/checkpoint\s+anchor checkpoint 1 \(/);
    expect(result.stdout).toContain('stream operator:acme is in anchor checkpoint 1');
    expect(result.stdout).toContain('the ledger is behind its anchor (restored from an older copy?)');
    const json = JSON.parse((await cli(['verify', live, '--anchor', anchor, '--json'])).stdout);
    expect(json).toMatchObject({
      ok: false,
      anchorCheckpoints: 2,
      anchors: [{ kind: 'folder', checkpoints: 2 }],
      problem: { code: 'TRUNCATED', checkpoint: { anchor: true, index: 1 } },
    });
  });

  it('appends one JSON line per checkpoint to an anchor file, and catches a rollback with it', async () => {
    const live = fixture.copy('live-file.db');
    const anchor = join(fixture.dir, 'anchors.jsonl');
    expect((await checkpoint(live, '--anchor', anchor)).code).toBe(0);
    const old = join(fixture.dir, 'old-file-copy.db');
    copyFileSync(live, old);
    await keepWriting(live, 'case 2');
    expect((await checkpoint(live, '--anchor', anchor)).code).toBe(0);
    await keepWriting(live, 'case 3');
    expect((await checkpoint(live, '--anchor', anchor)).code).toBe(0);
    expect(readFileSync(anchor, 'utf8').trim().split('\n')).toHaveLength(3);

    restore(old, live);
    const result = await cli(['verify', live, '--anchor', anchor]);
    expect(result.code, result.stdout).toBe(1);
    expect(result.stdout).toMatch(/anchor\s+.*anchors\.jsonl: 3 checkpoints\n/);
    expect(result.stdout).toContain('FAILED: TRUNCATED');
    expect(result.stdout).toContain('the ledger is behind its anchor');
  });

  it('catch a ledger rewritten relative to the anchor (same runs, other hashes)', async () => {
    const live = fixture.copy('rewritten.db');
    const anchor = join(fixture.dir, 'rewritten-anchor.jsonl');
    expect((await checkpoint(live, '--anchor', anchor)).code).toBe(0);
    // Another recording of the same runs: same streams and seqs, different salts and hashes.
    const other = await createSqliteLedgerFixture();
    try {
      restore(other.path, live);
      const result = await cli(['verify', live, '--anchor', anchor]);
      expect(result.code, result.stdout).toBe(1);
      expect(result.stdout).toContain('FAILED: CHECKPOINT_MISMATCH (altered)');
      expect(result.stdout).toContain('differs from anchor checkpoint 0');
    } finally {
      other.remove();
    }
  });

  it('refuse an anchor that is missing, empty, or holds something that is not a checkpoint', async () => {
    const missing = await cli(['verify', fixture.path, '--anchor', join(fixture.dir, 'no-such-anchor')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist');
    expect(missing.stderr).toContain('give the file or folder custody checkpoint --anchor wrote');
    const empty = join(fixture.dir, 'empty-anchor');
    mkdirSync(empty);
    const none = await cli(['verify', fixture.path, '--anchor', empty]);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('holds no checkpoint; write one with custody checkpoint');
    const edited = join(fixture.dir, 'edited-anchor.jsonl');
    writeFileSync(edited, '{"schemaVersion":1}\n');
    const bad = await cli(['verify', fixture.path, '--anchor', edited]);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(
      /anchor .*edited-anchor\.jsonl line 1 is not a checkpoint: createdAt is missing/,
    );
    const nowhere = await checkpoint(
      fixture.copy('nowhere.db'),
      '--anchor',
      join(fixture.dir, 'no', 'dir', 'a.jsonl'),
    );
    expect(nowhere.code).toBe(2);
    expect(nowhere.stderr).toContain('does not exist; create it first');
    expect(existsSync(join(fixture.dir, 'no'))).toBe(false);
  });
});

describe('custody verify reports what no checkpoint covers', () => {
  it('always prints the uncovered counts, and fails on them with --require-covered', async () => {
    const path = fixture.copy('coverage.db');
    const bare = await cli(['verify', path]);
    expect(bare.code).toBe(0);
    expect(bare.stdout).toMatch(/uncovered\s+19 events in 3 streams covered by no checkpoint\n/);
    const required = await cli(['verify', path, '--require-covered']);
    expect(required.code).toBe(1);
    expect(required.stdout).toContain('FAILED: UNCOVERED (unverifiable)');
    expect(required.stdout).toContain('19 events in 3 streams are covered by no checkpoint');

    expect((await checkpoint(path)).code).toBe(0);
    const covered = await cli(['verify', path, '--key', publicKey, '--require-covered']);
    expect(covered.code, covered.stdout).toBe(0);
    expect(covered.stdout).toMatch(/uncovered\s+0 \(every event is covered by a checkpoint\)\n/);

    await keepWriting(path, 'after the checkpoint');
    const after = await cli(['verify', path, '--key', publicKey, '--json']);
    expect(JSON.parse(after.stdout)).toMatchObject({ ok: true, uncovered: { events: 1, streams: 1 } });
    expect(JSON.parse(after.stdout).notes.join('\n')).toContain('pass --require-covered to fail on them');
    const failed = await cli(['verify', path, '--key', publicKey, '--require-covered', '--json']);
    expect(failed.code).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({
      ok: false,
      uncovered: { events: 1, streams: 1 },
      problem: { code: 'UNCOVERED', eventId: 'operator:acme:0' },
    });
  });
});
