import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, createSqliteLedgerFixture, openSqlite, type SqliteLedgerFixture } from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
});
afterAll(() => fixture.remove());

const COMMANDS = ['verify', 'runs', 'show', 'export', 'checkpoint', 'keygen'];

/** Expects a usage error: exit 2, the message, a pointer to --help, no stack. */
async function expectUsageError(argv: string[], message: string | RegExp): Promise<void> {
  const result = await cli(argv);
  expect(result.code, `${argv.join(' ')}\n${result.stderr}`).toBe(2);
  expect(result.stderr).toMatch(message);
  expect(result.stderr).toContain(`Run "custody ${argv[0]} --help" for usage.`);
  expect(result.stderr).not.toMatch(/\n\s+at /);
  expect(result.stdout).toBe('');
}

describe('help', () => {
  it('prints the overview with --help, and with no arguments exits 2', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('Usage: custody <command> [options]');
    for (const command of COMMANDS) expect(help.stdout).toContain(`  ${command} `);
    const bare = await cli([]);
    expect(bare.code).toBe(2);
    expect(bare.stderr).toContain('Usage: custody <command>');
  });

  it.each(COMMANDS)('prints the help of %s with --help, -h and help <command>', async (command) => {
    for (const argv of [
      [command, '--help'],
      [command, 'whatever', '-h'],
      ['help', command],
    ]) {
      const result = await cli(argv);
      expect(result.code).toBe(0);
      expect(result.stdout).toMatch(new RegExp(`^Usage: custody ${command} `));
      expect(result.stdout).toContain('Example');
    }
  });

  it('prints the version', async () => {
    const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
    expect((await cli(['--version'])).stdout).toBe(`${manifest.version}\n`);
  });

  it('suggests the command meant', async () => {
    const result = await cli(['verfy', fixture.path]);
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('unknown command "verfy" (did you mean "verify"?)');
    expect((await cli(['help', 'nope'])).code).toBe(2);
    expect((await cli(['help', 'constructor'])).code).toBe(2);
    expect((await cli(['toString'])).code).toBe(2);
  });
});

describe('usage errors exit 2 and say what to fix', () => {
  it('for a missing or unknown store argument', async () => {
    await expectUsageError(['verify'], 'missing <store>');
    await expectUsageError(['runs', fixture.path, 'extra'], 'unexpected argument "extra"');
    await expectUsageError(['verify', 'mysql://db/app'], 'unsupported store URL scheme "mysql://"');
    await expectUsageError(
      ['verify', fixture.path, '--schema', 'audit'],
      '--schema only applies to a PostgreSQL URL',
    );
    await expectUsageError(['show', fixture.path], 'missing <runId>');
  });

  it('for a SQLite file that does not exist, without creating it', async () => {
    const missing = join(fixture.dir, 'typo.db');
    await expectUsageError(['verify', missing], /SQLite file .*typo\.db does not exist/);
    await expectUsageError(['runs', join(fixture.dir, 'nested', 'typo.db')], 'does not exist');
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(fixture.dir, 'nested'))).toBe(false);
  });

  it('for a file that is not a Custody ledger', async () => {
    const text = join(fixture.dir, 'notes.txt');
    writeFileSync(text, 'hello, this is not a database at all. '.repeat(5));
    await expectUsageError(['verify', text], 'is not a SQLite database');
    const empty = join(fixture.dir, 'empty.db');
    writeFileSync(empty, '');
    await expectUsageError(['runs', empty], 'is empty, not a Custody ledger');
    const other = join(fixture.dir, 'other.db');
    const db = openSqlite(other);
    db.exec('CREATE TABLE notes (body TEXT)');
    db.close();
    await expectUsageError(['verify', other], 'is a SQLite database but not a Custody ledger');
    mkdirSync(join(fixture.dir, 'folder.db'));
    await expectUsageError(['verify', join(fixture.dir, 'folder.db')], 'is not a file');
    await expectUsageError(['verify', join(fixture.dir, 'missing.jsonl')], 'export file');
  });

  it('for unknown flags and flags without values', async () => {
    await expectUsageError(['verify', fixture.path, '--bogus'], 'unknown option --bogus');
    await expectUsageError(['verify', fixture.path, '--run'], 'option --run needs a value');
    await expectUsageError(['runs', fixture.path, '-x'], 'unknown option -x');
  });

  it('for bad filter values', async () => {
    await expectUsageError(
      ['runs', fixture.path, '--from', 'yesterday'],
      '--from must be an ISO 8601 date or time',
    );
    await expectUsageError(['runs', fixture.path, '--to', '2026-13-45'], '--to must be an ISO 8601');
    await expectUsageError(
      ['runs', fixture.path, '--from', '2026-02-01', '--to', '2026-01-01'],
      'must be before --to',
    );
    await expectUsageError(
      ['runs', fixture.path, '--limit', '0'],
      '--limit must be a positive whole number, got "0"',
    );
    await expectUsageError(
      ['runs', fixture.path, '--limit', 'ten'],
      '--limit must be a positive whole number',
    );
    await expectUsageError(['runs', fixture.path, '--tenant', ''], '--tenant needs a non-empty value');
  });

  it('for export without who, why, where or a format', async () => {
    const out = join(fixture.dir, 'out.jsonl');
    await expectUsageError(
      ['export', fixture.path, '--requested-by', 'user:a', '--reason', 'r'],
      '-o <file> is required',
    );
    await expectUsageError(
      ['export', fixture.path, '-o', out, '--reason', 'r'],
      '--requested-by <who> is required',
    );
    await expectUsageError(
      ['export', fixture.path, '-o', out, '--requested-by', 'user:a'],
      '--reason <why> is required',
    );
    await expectUsageError(
      ['export', fixture.path, '-o', out, '--requested-by', 'user:a', '--reason', ' '],
      '--reason <why> is required',
    );
    await expectUsageError(
      [
        'export',
        fixture.path,
        '-o',
        join(fixture.dir, 'out.txt'),
        '--requested-by',
        'user:a',
        '--reason',
        'r',
      ],
      '--format jsonl|csv is required: it cannot be told from the file name out.txt',
    );
    await expectUsageError(
      ['export', fixture.path, '-o', out, '--format', 'xml', '--requested-by', 'user:a', '--reason', 'r'],
      '--format must be jsonl or csv, got "xml"',
    );
    expect(existsSync(out)).toBe(false);
  });

  it('for writing commands given an export file', async () => {
    const exported = join(fixture.dir, 'read-only.jsonl');
    writeFileSync(exported, '');
    await expectUsageError(
      ['export', exported, '-o', join(fixture.dir, 'x.csv'), '--requested-by', 'user:a', '--reason', 'r'],
      'is a JSONL export, which is read-only',
    );
    await expectUsageError(['checkpoint', exported, '--key', 'k.pem', '--key-id', 'k'], 'read-only');
  });

  it('for keys that are missing, of the wrong kind, or ambiguous', async () => {
    const keys = join(fixture.dir, 'keys');
    expect((await cli(['keygen', '-o', keys, '--key-id', 'k1'])).code).toBe(0);
    await expectUsageError(['keygen', '-o', keys], '--key-id <keyId> is required');
    await expectUsageError(['keygen', '--key-id', 'k1'], '-o <dir> is required');
    await expectUsageError(
      ['keygen', '-o', join(fixture.dir, 'k2'), '--key-id', 'has space'],
      'without spaces or "="',
    );
    await expectUsageError(['checkpoint', fixture.path, '--key-id', 'k1'], '--key <private.pem> is required');
    await expectUsageError(
      ['checkpoint', fixture.path, '--key', join(keys, 'private.pem')],
      '--key-id <keyId> is required',
    );
    await expectUsageError(
      ['checkpoint', fixture.path, '--key', join(keys, 'public.pem'), '--key-id', 'k1'],
      'is not a PEM private key',
    );
    await expectUsageError(['verify', fixture.path, '--key', join(keys, 'missing.pem')], 'does not exist');
    await expectUsageError(['verify', fixture.path, '--key', fixture.path], 'is not a PEM public key');
    await expectUsageError(
      ['verify', fixture.path, '--key', join(keys, 'public.pem'), '--key', join(keys, 'private.pem')],
      'name each key: --key <keyId>=<public.pem>',
    );
    await expectUsageError(
      ['verify', fixture.path, '--key', `k1=${join(keys, 'public.pem')}`, '--key-id', 'k1'],
      '--key-id names the key of a bare --key',
    );
  });
});

describe('store failures', () => {
  it('exit 1 with the message and no stack when PostgreSQL is unreachable', async () => {
    const result = await cli(['verify', 'postgres://custody:secret@127.0.0.1:1/app']);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^custody verify: PostgreSQL .* failed: .*ECONNREFUSED/);
    expect(result.stderr).toContain('check that PostgreSQL is running');
    expect(result.stderr).not.toMatch(/\n\s+at /);
  });
});
