import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CSV_COLUMNS } from '@custody/core/ledger';
import { createSqliteStores } from '@custody/store-sqlite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, createSqliteLedgerFixture, type SqliteLedgerFixture } from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
});
afterAll(() => fixture.remove());

const WHO = ['--requested-by', 'user:auditor@acme.com', '--reason', 'quarterly review'];

describe('custody export', () => {
  it('writes JSONL, and records the export in the ledger', async () => {
    const store = fixture.copy('recorded.db');
    const file = join(fixture.dir, 'all.jsonl');
    const result = await cli(['export', store, '-o', file, ...WHO]);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toContain('wrote 19 events');
    expect(result.stdout).toContain('recorded as ledger.exported by user:auditor@acme.com');
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(1 + 19);
    expect(JSON.parse(lines[0]!)).toMatchObject({ format: 'custody-ledger', version: 1 });

    const stores = createSqliteStores({ path: store });
    const page = await stores.ledger.read({ type: 'ledger.exported' });
    await stores.close();
    expect(page.events).toHaveLength(1);
    expect(page.events[0]).toMatchObject({
      stream: 'operator:*',
      actor: 'user:auditor@acme.com',
      payload: {
        format: 'jsonl',
        events: 19,
        reason: 'quarterly review',
        requestedBy: 'user:auditor@acme.com',
      },
    });
    expect(readdirSync(fixture.dir).filter((name) => name.includes('.partial'))).toEqual([]);
  });

  it('writes CSV with the fixed columns, filtered, the format taken from the extension', async () => {
    const store = fixture.copy('csv.db');
    const file = join(fixture.dir, 'acme-refunds.csv');
    const result = await cli([
      'export',
      store,
      '-o',
      file,
      '--tenant',
      'acme',
      '--tool',
      'payments.refund',
      ...WHO,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      format: 'csv',
      events: 6,
      query: { tenant: 'acme', tool: 'payments.refund' },
    });
    const lines = readFileSync(file, 'utf8').trimEnd().split('\n');
    expect(lines[0]).toBe(CSV_COLUMNS.join(','));
    expect(lines).toHaveLength(1 + 6);
    expect(lines.slice(1).every((line) => line.includes('payments.refund'))).toBe(true);
  });

  it('normalises --from and --to to the ledger time format', async () => {
    const store = fixture.copy('window.db');
    const file = join(fixture.dir, 'window.jsonl');
    const result = await cli([
      'export',
      store,
      '-o',
      file,
      '--from',
      '2026-11-02 09:01',
      '--to',
      '2026-11-02T10:02:00+01:00',
      ...WHO,
      '--json',
    ]);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({
      events: 4,
      query: { from: '2026-11-02T09:01:00.000Z', to: '2026-11-02T09:02:00.000Z' },
    });
  });

  it('refuses to overwrite a file unless --force, before recording anything', async () => {
    const store = fixture.copy('overwrite.db');
    const file = join(fixture.dir, 'twice.jsonl');
    expect((await cli(['export', store, '-o', file, ...WHO])).code).toBe(0);
    const again = await cli(['export', store, '-o', file, ...WHO]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('already exists; choose another file or pass --force');
    const forced = await cli(['export', store, '-o', file, ...WHO, '--force']);
    expect(forced.code).toBe(0);
    const stores = createSqliteStores({ path: store });
    expect((await stores.ledger.read({ type: 'ledger.exported' })).events).toHaveLength(2);
    await stores.close();
  });

  it('refuses to export over the ledger itself or into a missing folder', async () => {
    const store = fixture.copy('self.db');
    const self = await cli(['export', store, '-o', store, '--format', 'jsonl', ...WHO, '--force']);
    expect(self.code).toBe(2);
    expect(self.stderr).toContain('is the ledger itself');
    const missing = await cli(['export', store, '-o', join(fixture.dir, 'nope', 'x.jsonl'), ...WHO]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('does not exist; create it first');
    expect(existsSync(join(fixture.dir, 'nope'))).toBe(false);
  });
});
