import { CustodyError } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { parseEvalExpectation } from './eval-expectation.js';

function problem(value: unknown): string {
  try {
    parseEvalExpectation(value, 'case.expect.json');
  } catch (error) {
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_INVALID_ARGUMENT');
    return (error as Error).message.replace(/^\[custody\] /, '');
  }
  throw new Error('expected a problem');
}

describe('parseEvalExpectation', () => {
  it('reads an expect file, from JSON text or an object', () => {
    const text = JSON.stringify({
      $schema: 'https://example.com/expect.json',
      description: 'double charge',
      outcome: 'succeeded',
      assertions: [
        { kind: 'never_called', tool: 'gmail.send', description: 'a human sends' },
        {
          kind: 'requires_approval_above',
          tool: 'stripe.refund',
          field: 'amountCents',
          threshold: 5000,
          approvers: 2,
          role: 'finance',
        },
        { kind: 'max_calls', tool: 'stripe.refund', count: 2 },
        { kind: 'decision', tool: 'gmail.send', effect: 'deny' },
      ],
    });
    expect(parseEvalExpectation(text).assertions.map((a) => a.kind)).toEqual([
      'never_called',
      'requires_approval_above',
      'max_calls',
      'decision',
    ]);
    expect(parseEvalExpectation({})).toEqual({ assertions: [] });
  });

  it('names the file, the place and the fix', () => {
    expect(problem('{oops')).toMatch(/^case\.expect\.json is not JSON: /);
    expect(problem({ outcome: 'success' })).toBe(
      'case.expect.json is invalid at outcome: Invalid option: expected one of "succeeded"|"failed"|"abandoned"|"rolled_back"',
    );
    expect(
      problem({
        assertions: [
          { kind: 'never_called', tool: 'a' },
          { kind: 'nope', tool: 'b' },
        ],
      }),
    ).toBe(
      'case.expect.json is invalid at assertions[1].kind: kind must be one of never_called, max_calls, requires_approval_above, decision, got "nope"',
    );
    expect(problem({ assertions: [{ kind: 'max_calls', tool: 'a', count: 1.5 }] })).toMatch(
      /^case\.expect\.json is invalid at assertions\[0\]\.count: /,
    );
    expect(problem({ assertions: [{ kind: 'never_called', tool: '' }] })).toBe(
      'case.expect.json is invalid at assertions[0].tool: must name a tool, or a pattern like "gmail.*"',
    );
    expect(problem({ assertions: [{ kind: 'never_called', tool: 'a', amount: 1 }] })).toBe(
      'case.expect.json is invalid at assertions[0]: Unrecognized key: "amount"',
    );
    expect(problem({ outcome: 'succeeded', asserts: [] })).toBe(
      'case.expect.json is invalid at the top level: Unrecognized key: "asserts"',
    );
  });
});
