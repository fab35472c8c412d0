import { canonicalize, sha256Hex } from '@custody/core/ledger';
import { describe, expect, it } from 'vitest';
import { definePolicy } from './define-policy.js';
import type { PolicyRule } from './rule.js';
import { forbid, permit, requireApproval } from './rule-builders.js';

function build(
  limit = 100,
  overrides: { version?: string; description?: string; extra?: PolicyRule[] } = {},
) {
  return definePolicy(
    {
      id: 'refunds',
      version: overrides.version ?? '1',
      description: overrides.description ?? 'refund rules',
    },
    [
      permit({
        id: 'small',
        tools: ['stripe.refund'],
        params: { limit },
        when: ({ input, params }) => (input as { amountCents: number }).amountCents < params.limit,
      }),
      requireApproval({
        id: 'large',
        tools: ['stripe.refund'],
        approvers: { role: 'finance', count: 2 },
        reason: 'two people from finance',
      }),
      forbid({ id: 'no-delete', tools: ['stripe.*.delete'] }),
      ...(overrides.extra ?? []),
    ],
  );
}

describe('policy hash', () => {
  it('is SHA-256 over the canonical description of id, version and every rule', () => {
    const policy = definePolicy({ id: 'p', version: '2', description: 'ignored' }, [
      permit({ id: 'read', tools: ['*.read', 'gmail.search'] }),
      requireApproval({
        id: 'ask',
        tools: ['x.y'],
        approvers: [{ role: 'finance', count: 2 }],
        reason: 'why',
      }),
    ]);
    const expected = sha256Hex(
      canonicalize({
        format: 'custody.policy.v1',
        id: 'p',
        version: '2',
        rules: [
          { id: 'read', effect: 'permit', tools: ['*.read', 'gmail.search'] },
          {
            id: 'ask',
            effect: 'require_approval',
            tools: ['x.y'],
            approvers: [{ role: 'finance', count: 2 }],
            reason: 'why',
          },
        ],
      }),
    );
    expect(policy.ref.hash).toBe(expected);
    // Pinned, so an accidental change to the hashed description shows up as a failing test.
    expect(policy.ref.hash).toBe('2b5f8b2df7e5a46848551eda22790bbe5d1f16e8e53996d058c7de587232d97f');
  });

  it('includes the source text of conditions', () => {
    const when = ({ input }: { input: unknown }) => input === 1;
    const policy = definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['x.y'], when })]);
    expect(policy.ref.hash).toBe(
      sha256Hex(
        canonicalize({
          format: 'custody.policy.v1',
          id: 'p',
          version: '1',
          rules: [{ id: 'a', effect: 'permit', tools: ['x.y'], when: when.toString() }],
        }),
      ),
    );
  });

  it('is stable for the same definition and ignores the description', () => {
    expect(build().ref.hash).toBe(build().ref.hash);
    expect(build(100, { description: 'something else' }).ref.hash).toBe(build().ref.hash);
  });

  it('changes when a condition’s code changes', () => {
    const withCondition = (when: (context: { input: unknown }) => boolean) =>
      definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['x.y'], when })]).ref.hash;
    const base = withCondition(({ input }) => (input as { n: number }).n < 100);
    expect(withCondition(({ input }) => (input as { n: number }).n < 100)).toBe(base);
    expect(withCondition(({ input }) => (input as { n: number }).n < 1000)).not.toBe(base);
    expect(withCondition(({ input }) => (input as { n: number }).n <= 100)).not.toBe(base);
    expect(definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['x.y'] })]).ref.hash).not.toBe(
      base,
    );
  });

  it('changes with anything else that decides', () => {
    const base = build().ref.hash;
    const variants = [
      build(200), // params
      build(100, { version: '2' }),
      definePolicy({ id: 'other', version: '1', description: 'refund rules' }, build().rules),
      build(100, { extra: [permit({ id: 'more', tools: ['x.y'] })] }),
      definePolicy({ id: 'refunds', version: '1' }, [...build().rules].reverse()),
      definePolicy({ id: 'refunds', version: '1' }, [
        build().rules[0]!,
        requireApproval({
          id: 'large',
          tools: ['stripe.refund'],
          approvers: { role: 'finance', count: 3 },
          reason: 'two people from finance',
        }),
        build().rules[2]!,
      ]),
      definePolicy({ id: 'refunds', version: '1' }, [
        build().rules[0]!,
        requireApproval({
          id: 'large',
          tools: ['stripe.refund'],
          approvers: { role: 'finance', count: 2 },
          reason: 'changed',
        }),
        build().rules[2]!,
      ]),
      definePolicy({ id: 'refunds', version: '1' }, [
        build().rules[0]!,
        build().rules[1]!,
        permit({ id: 'no-delete', tools: ['stripe.*.delete'] }), // effect
      ]),
      definePolicy({ id: 'refunds', version: '1' }, [
        build().rules[0]!,
        build().rules[1]!,
        forbid({ id: 'no-delete', tools: ['stripe.*.remove'] }), // tools
      ]),
      definePolicy({ id: 'refunds', version: '1' }, [
        build().rules[0]!,
        build().rules[1]!,
        forbid({ id: 'no-deletes', tools: ['stripe.*.delete'] }), // id
      ]),
    ].map((policy) => policy.ref.hash);
    for (const hash of variants) expect(hash).not.toBe(base);
    expect(new Set(variants).size).toBe(variants.length);
  });
});
