import { describe, expect, it } from 'vitest';
import { CustodyError, describeValue } from './errors.js';

describe('CustodyError', () => {
  it('carries a stable code, details and cause', () => {
    const cause = new Error('socket hang up');
    const error = new CustodyError('CUSTODY_EXECUTION_FAILED', 'tool "x" failed', {
      cause,
      details: { tool: 'x' },
    });
    expect(error.message).toBe('[custody] tool "x" failed');
    expect(error.cause).toBe(cause);
    expect(error.toJSON()).toEqual({
      code: 'CUSTODY_EXECUTION_FAILED',
      message: '[custody] tool "x" failed',
      details: { tool: 'x' },
    });
  });

  it('recognises errors from another copy of the package by its global brand', () => {
    // A second copy defines its own class but brands instances with the same global symbol.
    const brand: unique symbol = Symbol.for('@custody/core/CustodyError') as never;
    class OtherCopyError extends Error {
      readonly [brand] = true;
      readonly code = 'CUSTODY_POLICY_DENIED';
    }
    expect(CustodyError.isInstance(new OtherCopyError('x'))).toBe(true);
    expect(new OtherCopyError('x') instanceof CustodyError).toBe(false);
    expect(CustodyError.isInstance(new Error('plain'))).toBe(false);
    expect(CustodyError.isInstance(null)).toBe(false);
  });

  it('describes received values briefly', () => {
    expect(describeValue('x'.repeat(100))).toMatch(/^".{57}\.\.\."$/);
    expect(describeValue(new Map())).toBe('an instance of Map');
    expect(describeValue(5n)).toBe('5n (a BigInt)');
  });
});
