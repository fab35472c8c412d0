import { writeFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createRegressionFolder } from '../test/eval-fixtures.js';
import { compareWithBaseline, readEvalReport } from './eval-report.js';

describe('compareWithBaseline', () => {
  it('passes at exactly the allowed drop, despite floating point', () => {
    // 0.9 − 0.02 is 0.8800000000000001 in binary floating point.
    expect(compareWithBaseline(0.88, { metrics: { successRate: 0.9 } })).toMatchObject({
      passed: true,
      maxDrop: 0.02,
    });
    expect(compareWithBaseline(0.87, { metrics: { successRate: 0.9 } }).passed).toBe(false);
    expect(compareWithBaseline(0.5, { metrics: { successRate: 0.9 } }, 0.4).passed).toBe(true);
    expect(compareWithBaseline(0, { metrics: { successRate: 0 } }, 0.02)).toMatchObject({
      minimum: 0,
      passed: true,
    });
  });

  it('refuses a bad maxDrop or baseline', () => {
    expect(() => compareWithBaseline(1, { metrics: { successRate: 1 } }, -0.1)).toThrow(
      'maxDrop must be a fraction between 0 and 1 (0.02 allows two points), got -0.1',
    );
    expect(() => compareWithBaseline(1, {} as never)).toThrow(/baseline has no success rate/);
  });
});

describe('readEvalReport', () => {
  it('refuses a file that is not an eval report, saying what it is', async () => {
    const folder = createRegressionFolder();
    try {
      const path = `${folder.path}/report.json`;
      await expect(readEvalReport(`${folder.path}/missing.json`)).rejects.toThrow(
        /cannot read the eval report/,
      );
      writeFileSync(path, 'nope');
      await expect(readEvalReport(path)).rejects.toThrow(/is not JSON/);
      writeFileSync(path, JSON.stringify({ format: 'custody-replay-bundle' }));
      await expect(readEvalReport(path)).rejects.toThrow(
        /is not an eval report \(version 1\): its "format" must be "custody-eval-report", got "custody-replay-bundle"/,
      );
      writeFileSync(path, JSON.stringify({ format: 'custody-eval-report', version: 1, metrics: {} }));
      await expect(readEvalReport(path)).rejects.toThrow(/has no metrics\.successRate between 0 and 1/);
    } finally {
      folder.remove();
    }
  });
});
