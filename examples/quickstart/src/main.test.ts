import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

describe('README quickstart', () => {
  it('runs and refunds the small charge', async () => {
    process.env.CUSTODY_DB = join(mkdtempSync(join(tmpdir(), 'custody-quickstart-')), 'ledger.db');
    const { result } = await import('./main.js');
    expect(result).toMatchObject({ status: 'ok', output: { refundId: expect.stringMatching(/^re_ch_1_/) } });
  });
});
