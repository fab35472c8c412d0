import { describe, expect, it } from 'vitest';
import { parseTimeFlag, queryFromFlags } from './query-flags.js';
import { UsageError } from './usage-error.js';

describe('parseTimeFlag', () => {
  it('gives the ledger form of ISO 8601 dates and times, UTC unless an offset is given', () => {
    expect(parseTimeFlag('2026-11-02', '--from')).toBe('2026-11-02T00:00:00.000Z');
    expect(parseTimeFlag('2026-11-02T09:30', '--from')).toBe('2026-11-02T09:30:00.000Z');
    expect(parseTimeFlag('2026-11-02 09:30:15', '--from')).toBe('2026-11-02T09:30:15.000Z');
    expect(parseTimeFlag('2026-11-02T09:30:15.5Z', '--from')).toBe('2026-11-02T09:30:15.500Z');
    expect(parseTimeFlag('2026-11-02T10:30:00+01:00', '--from')).toBe('2026-11-02T09:30:00.000Z');
    expect(parseTimeFlag(undefined, '--from')).toBeUndefined();
  });

  it('refuses anything else, naming the flag and the value', () => {
    for (const value of ['yesterday', 'Nov 2 2026', '2026-11-32', '1730000000', '']) {
      expect(() => parseTimeFlag(value, '--to')).toThrow(UsageError);
    }
    expect(() => parseTimeFlag('soon', '--to')).toThrow(
      '--to must be an ISO 8601 date or time such as 2026-01-31',
    );
  });
});

describe('queryFromFlags', () => {
  it('builds a ledger query from the flags given, and only those', () => {
    expect(queryFromFlags({})).toEqual({});
    expect(
      queryFromFlags({
        run: 'run_1',
        tenant: 'acme',
        actor: 'user:alice',
        tool: 'stripe.refund',
        type: ['tool.denied'],
        from: '2026-01-01',
        to: '2026-02-01',
      }),
    ).toEqual({
      runId: 'run_1',
      tenant: 'acme',
      actor: 'user:alice',
      tool: 'stripe.refund',
      type: 'tool.denied',
      from: '2026-01-01T00:00:00.000Z',
      to: '2026-02-01T00:00:00.000Z',
    });
    expect(queryFromFlags({ type: ['run.started', 'run.ended'] })).toEqual({
      type: ['run.started', 'run.ended'],
    });
  });

  it('refuses an empty window and empty values', () => {
    expect(() => queryFromFlags({ from: '2026-01-02', to: '2026-01-01' })).toThrow('must be before --to');
    expect(() => queryFromFlags({ tool: ' ' })).toThrow('--tool needs a non-empty value');
  });
});
