import { CustodyError, defineTool } from '@custody/core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import { definePolicy } from './define-policy.js';
import { forbid, isPolicyRule, permit, requireApproval } from './rule-builders.js';
import { createPolicyRequest } from './testing/create-policy-request.js';

const refund = defineTool({
  name: 'stripe.refund',
  version: '1.0.0',
  effect: 'write',
  input: z.object({ chargeId: z.string(), amountCents: z.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  execute: () => ({ refundId: 're_1' }),
});

const invoice = defineTool({
  name: 'stripe.invoice.void',
  version: '2.0.0',
  effect: 'destructive',
  input: z.object({ invoiceId: z.string(), amountCents: z.number().int() }),
  output: z.object({ ok: z.boolean() }),
  execute: () => ({ ok: true }),
});

function errorOf(fn: () => unknown): CustodyError {
  try {
    fn();
  } catch (error) {
    if (CustodyError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected an error, nothing was thrown');
}

const call = (options: { [key: string]: unknown }) => (builder: (o: never) => unknown) => () =>
  builder(options as never);

describe('rule builders', () => {
  it('build frozen rules with the effect, patterns and tool names', () => {
    const rule = permit({ id: 'a', tools: ['jira.*', refund], reason: 'why' });
    expect(rule).toEqual({ id: 'a', effect: 'permit', tools: ['jira.*', 'stripe.refund'], reason: 'why' });
    expect(Object.isFrozen(rule)).toBe(true);
    expect(Object.isFrozen(rule.tools)).toBe(true);
    expect(isPolicyRule(rule)).toBe(true);
    expect(isPolicyRule({ ...rule })).toBe(false);
    expect(forbid({ id: 'f', tools: ['x.y'] }).effect).toBe('forbid');
    const approval = requireApproval({ id: 'r', tools: ['x.y'], approvers: { role: 'finance', count: 2 } });
    expect(approval.effect).toBe('require_approval');
    expect(approval.approvers).toEqual([{ role: 'finance', count: 2 }]);
  });

  it('types the condition input from the tool schemas', () => {
    permit({
      id: 'typed',
      tools: [refund],
      when: ({ input }) => {
        expectTypeOf(input).toEqualTypeOf<{ chargeId: string; amountCents: number }>();
        // @ts-expect-error the refund schema has no such field
        input.invoiceId;
        return input.amountCents < 100;
      },
    });
    permit({
      id: 'union',
      tools: [refund, invoice],
      when: ({ input }) => {
        expectTypeOf(input).toEqualTypeOf<
          { chargeId: string; amountCents: number } | { invoiceId: string; amountCents: number }
        >();
        return input.amountCents < 100;
      },
    });
    permit({
      id: 'pattern',
      tools: [refund, 'stripe.*'],
      when: ({ input }) => {
        expectTypeOf(input).toEqualTypeOf<unknown>();
        return true;
      },
    });
  });

  it('types params from the declaration and hands the frozen copy to the condition', () => {
    const limits = { maxCents: 500, currencies: ['usd'] };
    let seen: unknown;
    const rule = permit({
      id: 'p',
      tools: [refund],
      params: limits,
      when: ({ input, params }) => {
        expectTypeOf(params).toEqualTypeOf<{ maxCents: number; currencies: string[] }>();
        seen = params;
        return input.amountCents < params.maxCents;
      },
    });
    limits.maxCents = 1_000_000; // later edits to the caller's object change nothing
    const policy = definePolicy({ id: 'p', version: '1' }, [rule]);
    const request = createPolicyRequest({ tool: refund, input: { chargeId: 'c', amountCents: 900 } });
    expect(policy.decide(request).effect).toBe('deny');
    expect(seen).toEqual({ maxCents: 500, currencies: ['usd'] });
    expect(Object.isFrozen(seen)).toBe(true);
    expect(Object.isFrozen((seen as { currencies: string[] }).currencies)).toBe(true);
  });

  describe('validation', () => {
    it.each([
      [
        undefined,
        'permit() expects an options object such as { id: "my-rule", tools: ["jira.*"] }, got undefined',
      ],
      [
        { tools: ['x.y'] },
        'rule id must be a non-empty string without surrounding spaces, such as "refund-small", got undefined',
      ],
      [{ id: ' a', tools: ['x.y'] }, 'got " a"'],
      [
        { id: 'a' },
        'permit() rule "a": tools must be a non-empty array, got undefined; pass tool name patterns',
      ],
      [{ id: 'a', tools: 'jira.*' }, 'tools must be a non-empty array, got "jira.*"'],
      [{ id: 'a', tools: [] }, 'tools must be a non-empty array, got an array of 0'],
      [
        { id: 'a', tools: ['jira issues'] },
        'tools[0] must be a tool name pattern made of letters, digits, "_", "-", "." and "*" (such as "jira.*"), got "jira issues"',
      ],
      [{ id: 'a', tools: ['x.y', 42] }, 'tools[1] is neither a pattern nor a tool, got 42'],
      [{ id: 'a', tools: ['x.y'], when: true }, 'when must be a function returning true or false'],
      [{ id: 'a', tools: ['x.y'], reason: '' }, 'reason must be a non-empty string when given, got ""'],
      [
        { id: 'a', tools: ['x.y'], condition: () => true },
        'unknown option "condition"; did you mean "when"? valid options are id, tools, when, params, reason',
      ],
      [{ id: 'a', tools: ['x.y'], colour: 1 }, 'unknown option "colour"; valid options are'],
      [
        { id: 'a', tools: ['x.y'], approvers: { role: 'r', count: 1 } },
        'approvers only apply to requireApproval()',
      ],
      [
        { id: 'a', tools: ['x.y'], params: { at: new Date(0) } },
        'params must be plain JSON (they are hashed into the policy): value at $.at cannot be recorded',
      ],
      [{ id: 'a', tools: ['x.y'], params: { n: Number.NaN } }, 'params must be plain JSON'],
    ])('permit(%j) fails clearly', (options, message) => {
      const error = errorOf(call(options as Record<string, unknown>)(permit));
      expect(error.code).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(error.message).toContain(message);
    });

    it.each([
      [
        undefined,
        'requireApproval() rule "a": approvers must be a requirement or a non-empty list of them, got undefined',
      ],
      [[], 'got an array of 0'],
      [{ role: 'finance', count: 0 }, 'approvers.count must be a positive integer such as 2, got 0'],
      [{ role: 'finance', count: 1.5 }, 'approvers.count must be a positive integer such as 2, got 1.5'],
      [{ role: 'finance', count: '2' }, 'approvers.count must be a positive integer such as 2, got "2"'],
      [{ role: 'finance' }, 'approvers.count must be a positive integer such as 2, got undefined'],
      [{ role: '', count: 1 }, 'approvers.role must be a non-empty string such as "finance", got ""'],
      [{ role: '  ', count: 1 }, 'approvers.role must be a non-empty string'],
      [
        [
          { role: 'a', count: 1 },
          { role: 'b', count: -1 },
        ],
        'approvers[1].count must be a positive integer such as 2, got -1',
      ],
      [[{ role: 'a', count: 1 }, null], 'approvers[1] must be an object, got null'],
      [
        [
          { role: 'a', count: 1 },
          { role: 'a', count: 2 },
        ],
        'role "a" appears twice in approvers',
      ],
      [{ role: 'a', count: 1, quorum: 2 }, 'approvers has unknown option "quorum"'],
    ])('requireApproval with approvers %j fails clearly', (approvers, message) => {
      const error = errorOf(call({ id: 'a', tools: ['x.y'], approvers })(requireApproval));
      expect(error.code).toBe('CUSTODY_INVALID_ARGUMENT');
      expect(error.message).toContain(message);
    });

    it('names the builder in messages', () => {
      expect(errorOf(call({ id: 'a', tools: [] })(forbid)).message).toContain('forbid() rule "a"');
      expect(errorOf(call({ id: 'a', tools: [] })(requireApproval)).message).toContain(
        'requireApproval() rule "a"',
      );
    });
  });
});
