import { describe, expect, it } from 'vitest';
import { formatFields, formatTable, plural } from './format.js';

describe('formatTable', () => {
  it('aligns columns two spaces apart and leaves the last one unpadded', () => {
    expect(
      formatTable(
        ['RUN', 'OUTCOME', 'TOOLS'],
        [
          ['run_1', 'succeeded', 'a, b'],
          ['run_10', 'open', ''],
        ],
      ),
    ).toBe(['RUN     OUTCOME    TOOLS', 'run_1   succeeded  a, b', 'run_10  open'].join('\n'));
  });
});

describe('formatFields', () => {
  it('indents labels and aligns values', () => {
    expect(
      formatFields([
        ['events', '3'],
        ['checkpoints', '1'],
      ]),
    ).toBe('  events       3\n  checkpoints  1');
  });
});

describe('plural', () => {
  it('counts nouns', () => {
    expect(plural(1, 'event')).toBe('1 event');
    expect(plural(2, 'event')).toBe('2 events');
    expect(plural(0, 'checkpoint is', 'checkpoints are')).toBe('0 checkpoints are');
  });
});
