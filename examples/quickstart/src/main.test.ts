import { describe, expect, it } from 'vitest';

describe('README quickstart', () => {
  it('runs and refunds the small charge', async () => {
    const { result } = await import('./main.js');
    expect(result).toMatchObject({ status: 'ok', output: { refundId: expect.stringMatching(/^re_ch_1_/) } });
  });
});
