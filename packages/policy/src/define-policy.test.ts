import { CustodyError, type PolicyRequest } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { definePolicy } from './define-policy.js';
import type { PolicyRule } from './rule.js';
import { forbid, permit, requireApproval } from './rule-builders.js';
import { createPolicyRequest } from './testing/create-policy-request.js';

const call = (
  tool: string,
  input: unknown = {},
  extra: Partial<Parameters<typeof createPolicyRequest>[0]> = {},
) => createPolicyRequest({ tool, input, ...extra });

function invalidArgumentMessage(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    expect(CustodyError.isInstance(error)).toBe(true);
    expect((error as CustodyError).code).toBe('CUSTODY_INVALID_ARGUMENT');
    return (error as CustodyError).message;
  }
  throw new Error('expected a CUSTODY_INVALID_ARGUMENT error, nothing was thrown');
}

describe('definePolicy', () => {
  it('implements the PolicyEngine port with a ref carried by every decision', () => {
    const policy = definePolicy({ id: 'p', version: '7', description: 'test' }, [
      permit({ id: 'read', tools: ['*.read'] }),
    ]);
    expect(policy.specificationVersion).toBe('v1');
    expect(policy.ref).toEqual({ id: 'p', version: '7', hash: expect.stringMatching(/^[0-9a-f]{64}$/) });
    expect(policy.description).toBe('test');
    expect(policy.rules.map((rule) => rule.id)).toEqual(['read']);
    expect(policy.decide(call('jira.read')).policy).toEqual(policy.ref);
    expect(policy.decide(call('jira.write')).policy).toEqual(policy.ref);
  });

  it('rejects duplicate rule ids, naming the id and both positions', () => {
    const message = invalidArgumentMessage(() =>
      definePolicy({ id: 'p', version: '1' }, [
        permit({ id: 'a', tools: ['x.y'] }),
        forbid({ id: 'b', tools: ['x.y'] }),
        requireApproval({ id: 'a', tools: ['x.z'], approvers: { role: 'r', count: 1 } }),
      ]),
    );
    expect(message).toContain('"a"');
    expect(message).toContain('rules[0] and rules[2]');
    expect(message).toContain('unique id');
  });

  it('rejects rules not built with the rule builders', () => {
    const fake = { id: 'x', effect: 'permit', tools: ['*'] } as unknown as PolicyRule;
    expect(invalidArgumentMessage(() => definePolicy({ id: 'p', version: '1' }, [fake]))).toContain(
      'rules[0] is not a rule, got an object; build each rule with permit(), forbid() or requireApproval()',
    );
    expect(invalidArgumentMessage(() => definePolicy({ id: 'p', version: '1' }, 'nope' as never))).toContain(
      'rules must be an array',
    );
  });

  it('validates id, version, description and unknown options', () => {
    expect(invalidArgumentMessage(() => definePolicy(undefined as never, []))).toContain('got undefined');
    expect(invalidArgumentMessage(() => definePolicy({ id: '', version: '1' }, []))).toContain(
      'policy id must be a non-empty string such as "support-agent", got ""',
    );
    expect(invalidArgumentMessage(() => definePolicy({ id: 'p' } as never, []))).toContain(
      'policy "p": version must be a non-empty string such as "1" or "2025-06-01", got undefined',
    );
    expect(invalidArgumentMessage(() => definePolicy({ id: 'p', version: 2 } as never, []))).toContain(
      'got 2',
    );
    expect(
      invalidArgumentMessage(() => definePolicy({ id: 'p', version: '1', description: 5 } as never, [])),
    ).toContain('description must be a string');
    expect(
      invalidArgumentMessage(() => definePolicy({ id: 'p', version: '1', rules: [] } as never, [])),
    ).toContain('unknown option "rules"');
  });

  it('freezes the policy, its rules and its decisions', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['x.y'] })]);
    expect(Object.isFrozen(policy)).toBe(true);
    expect(Object.isFrozen(policy.rules)).toBe(true);
    expect(Object.isFrozen(policy.rules[0])).toBe(true);
    const decision = policy.decide(call('x.y'));
    expect(Object.isFrozen(decision)).toBe(true);
    expect(Object.isFrozen(decision.ruleIds)).toBe(true);
    expect(Object.isFrozen(decision.reasons)).toBe(true);
  });
});

describe('combining', () => {
  it('denies by default, saying no rule permitted the tool', () => {
    const policy = definePolicy({ id: 'support', version: '3' }, [
      permit({ id: 'read', tools: ['jira.read'] }),
    ]);
    const decision = policy.decide(call('jira.delete'));
    expect(decision.effect).toBe('deny');
    expect(decision.ruleIds).toEqual([]);
    expect(decision.reasons).toEqual([
      'no rule of policy "support" (version 3) permitted tool "jira.delete" for this call; it is denied by default',
    ]);
    expect(decision.errors).toBeUndefined();
    expect(decision.approvers).toBeUndefined();
  });

  it('denies by default when the only permit has a false condition', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'never', tools: ['x.y'], when: () => false }),
    ]);
    const decision = policy.decide(call('x.y'));
    expect(decision.effect).toBe('deny');
    expect(decision.ruleIds).toEqual([]);
    expect(decision.reasons[0]).toContain('denied by default');
  });

  it('denies an empty policy', () => {
    expect(definePolicy({ id: 'p', version: '1' }, []).decide(call('x.y')).effect).toBe('deny');
  });

  it('allows on a matching permit, listing every permit that matched', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'all-jira', tools: ['jira.*'], reason: 'jira is fine' }),
      permit({ id: 'read', tools: ['*.read'] }),
      permit({ id: 'other', tools: ['gmail.*'] }),
    ]);
    const decision = policy.decide(call('jira.read'));
    expect(decision).toEqual({
      effect: 'allow',
      policy: policy.ref,
      ruleIds: ['all-jira', 'read'],
      reasons: ['jira is fine', 'permitted by rule "read"'],
    });
  });

  it('lets a forbid beat a permit, wherever it sits', () => {
    for (const rules of [
      [
        permit({ id: 'ok', tools: ['jira.*'] }),
        forbid({ id: 'no', tools: ['jira.settings.*'], reason: 'admin only' }),
      ],
      [
        forbid({ id: 'no', tools: ['jira.settings.*'], reason: 'admin only' }),
        permit({ id: 'ok', tools: ['jira.*'] }),
      ],
    ]) {
      const policy = definePolicy({ id: 'p', version: '1' }, rules);
      expect(policy.decide(call('jira.settings.update'))).toEqual({
        effect: 'deny',
        policy: policy.ref,
        ruleIds: ['no'],
        reasons: ['admin only'],
      });
      expect(policy.decide(call('jira.issues.create')).effect).toBe('allow');
    }
  });

  it('lets a forbid beat an approval rule, and lists every forbid that matched', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      requireApproval({ id: 'ask', tools: ['x.*'], approvers: { role: 'boss', count: 1 } }),
      forbid({ id: 'no-1', tools: ['x.y'] }),
      permit({ id: 'ok', tools: ['x.*'] }),
      forbid({ id: 'no-2', tools: ['*.y'] }),
    ]);
    const decision = policy.decide(call('x.y'));
    expect(decision.effect).toBe('deny');
    expect(decision.ruleIds).toEqual(['no-1', 'no-2']);
    expect(decision.reasons).toEqual(['forbidden by rule "no-1"', 'forbidden by rule "no-2"']);
    expect(decision.approvers).toBeUndefined();
  });

  it('lets an approval rule beat a permit', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'ok', tools: ['stripe.*'] }),
      requireApproval({ id: 'ask', tools: ['stripe.refund'], approvers: { role: 'finance', count: 2 } }),
    ]);
    expect(policy.decide(call('stripe.refund'))).toEqual({
      effect: 'require_approval',
      policy: policy.ref,
      ruleIds: ['ask'],
      reasons: ['rule "ask" requires approval'],
      approvers: [{ role: 'finance', count: 2 }],
    });
    expect(policy.decide(call('stripe.read')).effect).toBe('allow');
  });

  it('merges approver requirements of every matching approval rule', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      requireApproval({ id: 'a', tools: ['x.*'], approvers: { role: 'finance', count: 1 } }),
      requireApproval({
        id: 'b',
        tools: ['x.y'],
        approvers: [
          { role: 'finance', count: 2 },
          { role: 'legal', count: 1 },
        ],
      }),
      requireApproval({
        id: 'c',
        tools: ['x.y'],
        approvers: { role: 'security', count: 1 },
        when: () => false,
      }),
    ]);
    const decision = policy.decide(call('x.y'));
    expect(decision.effect).toBe('require_approval');
    expect(decision.ruleIds).toEqual(['a', 'b']);
    expect(decision.approvers).toEqual([
      { role: 'finance', count: 2 },
      { role: 'legal', count: 1 },
    ]);
    expect(policy.decide(call('x.z')).approvers).toEqual([{ role: 'finance', count: 1 }]);
  });

  it('treats a throwing condition as a forbid: deny, with the error reported', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'ok', tools: ['x.*'] }),
      permit({
        id: 'buggy',
        tools: ['x.y'],
        when: ({ input }) => (input as { missing: { deep: number } }).missing.deep > 1,
      }),
    ]);
    const decision = policy.decide(call('x.y', {}));
    expect(decision.effect).toBe('deny');
    expect(decision.ruleIds).toEqual(['buggy']);
    expect(decision.errors).toHaveLength(1);
    expect(decision.errors?.[0]?.ruleId).toBe('buggy');
    expect(decision.errors?.[0]?.message).toMatch(/undefined/);
    expect(decision.reasons[0]).toMatch(/^rule "buggy" failed and counts as a forbid: /);
    // The rule not applying to a tool never runs its condition.
    expect(policy.decide(call('x.z')).effect).toBe('allow');
  });

  it('denies on a throwing condition even when an approval rule matches, and reports non-Error throws', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      requireApproval({ id: 'ask', tools: ['x.y'], approvers: { role: 'r', count: 1 } }),
      forbid({ id: 'no', tools: ['x.y'], when: () => false }),
      forbid({
        id: 'throws-string',
        tools: ['x.y'],
        when: () => {
          throw 'boom';
        },
      }),
    ]);
    const decision = policy.decide(call('x.y'));
    expect(decision.effect).toBe('deny');
    expect(decision.ruleIds).toEqual(['throws-string']);
    expect(decision.errors).toEqual([{ ruleId: 'throws-string', message: 'threw "boom"' }]);
  });

  it('reports forbids and failing rules together, in policy order', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({
        id: 'fails',
        tools: ['x.y'],
        when: () => {
          throw new Error('lookup failed');
        },
      }),
      forbid({ id: 'no', tools: ['x.y'] }),
    ]);
    const decision = policy.decide(call('x.y'));
    expect(decision.ruleIds).toEqual(['fails', 'no']);
    expect(decision.reasons).toEqual([
      'rule "fails" failed and counts as a forbid: lookup failed',
      'forbidden by rule "no"',
    ]);
    expect(decision.errors).toEqual([{ ruleId: 'fails', message: 'lookup failed' }]);
  });

  it('never lets a non-boolean condition result allow (async conditions included)', async () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'async', tools: ['x.async'], when: (async () => false) as never }),
      permit({ id: 'truthy', tools: ['x.truthy'], when: (() => 1) as never }),
      permit({
        id: 'rejects',
        tools: ['x.rejects'],
        when: (async () => Promise.reject(new Error('x'))) as never,
      }),
    ]);
    const asyncDecision = policy.decide(call('x.async'));
    expect(asyncDecision.effect).toBe('deny');
    expect(asyncDecision.errors?.[0]?.message).toContain('conditions must be synchronous');
    const truthy = policy.decide(call('x.truthy'));
    expect(truthy.effect).toBe('deny');
    expect(truthy.errors).toEqual([
      { ruleId: 'truthy', message: 'condition must return true or false, got 1' },
    ]);
    expect(policy.decide(call('x.rejects')).effect).toBe('deny');
    // Give a rejected promise a chance to surface as unhandled (vitest fails the run if it does).
    await new Promise((resolve) => setImmediate(resolve));
  });

  it('hands conditions the input, params and the whole run', () => {
    let seen: unknown;
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({
        id: 'look',
        tools: ['x.y'],
        params: { limit: 3 },
        when: (context) => {
          seen = context;
          return true;
        },
      }),
    ]);
    const request = call(
      'x.y',
      { n: 1 },
      {
        principal: { kind: 'agent', id: 'bot', roles: ['r'] },
        onBehalfOf: { kind: 'user', id: 'ana' },
        scope: { tenant: 't1', workspace: 'w' },
        resource: { project: 'p9' },
        metadata: { ticket: 'T-1' },
        runId: 'run-42',
      },
    );
    policy.decide(request);
    expect(seen).toEqual({
      input: { n: 1 },
      params: { limit: 3 },
      tool: request.tool,
      resource: { tenant: 't1', workspace: 'w', project: 'p9' },
      principal: { kind: 'agent', id: 'bot', roles: ['r'] },
      onBehalfOf: { kind: 'user', id: 'ana' },
      agent: request.run.agent,
      scope: { tenant: 't1', workspace: 'w' },
      metadata: { ticket: 'T-1' },
      runId: 'run-42',
      request,
    });
  });

  it('re-evaluates conditions on every call (no decision leaks between inputs)', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'small', tools: ['x.y'], when: ({ input }) => (input as { n: number }).n < 10 }),
      requireApproval({
        id: 'big',
        tools: ['x.y'],
        when: ({ input }) => (input as { n: number }).n >= 10,
        approvers: { role: 'r', count: 1 },
      }),
    ]);
    const effects = [1, 50, 2, 99, 3].map((n) => policy.decide(call('x.y', { n })).effect);
    expect(effects).toEqual(['allow', 'require_approval', 'allow', 'require_approval', 'allow']);
    // Equal matched sets give equal, frozen decisions.
    const first = policy.decide(call('x.y', { n: 1 }));
    expect(first).toEqual(policy.decide(call('x.y', { n: 2 })));
    expect(Object.isFrozen(first) && Object.isFrozen(first.ruleIds)).toBe(true);
  });

  it('decides policies with many rules (40 conditions on one tool)', () => {
    const rules: PolicyRule[] = [];
    for (let i = 0; i < 40; i++) {
      rules.push(
        permit({ id: `p${i}`, tools: ['x.*'], when: ({ input }) => (input as { n: number }).n === i }),
      );
    }
    rules.push(forbid({ id: 'no', tools: ['x.y'], when: ({ input }) => (input as { n: number }).n === 39 }));
    const policy = definePolicy({ id: 'p', version: '1' }, rules);
    expect(policy.decide(call('x.y', { n: 35 }))).toMatchObject({ effect: 'allow', ruleIds: ['p35'] });
    expect(policy.decide(call('x.y', { n: 39 }))).toMatchObject({ effect: 'deny', ruleIds: ['no'] });
    expect(policy.decide(call('x.y', { n: 99 }))).toMatchObject({ effect: 'deny', ruleIds: [] });
    const failing = definePolicy({ id: 'p', version: '1' }, [
      ...rules.slice(0, 35),
      permit({
        id: 'fails',
        tools: ['x.y'],
        when: () => {
          throw new Error('no');
        },
      }),
    ]);
    expect(failing.decide(call('x.y', { n: 3 }))).toMatchObject({ effect: 'deny', ruleIds: ['fails'] });
  });
});

describe('tool patterns', () => {
  const policy = definePolicy({ id: 'globs', version: '1' }, [
    permit({ id: 'exact', tools: ['gmail.read'] }),
    permit({ id: 'connector', tools: ['jira.*'] }),
    permit({ id: 'action', tools: ['*.search'] }),
    permit({ id: 'middle', tools: ['crm.*.list'] }),
  ]);
  const decide = (tool: string) => policy.decide(call(tool));

  it.each([
    ['gmail.read', ['exact']],
    ['jira.issues.create', ['connector']],
    ['jira.search', ['connector', 'action']],
    ['crm.contacts.list', ['middle']],
    ['crm.a.b.list', ['middle']],
  ])('%s matches %j', (tool, ruleIds) => {
    expect(decide(tool)).toMatchObject({ effect: 'allow', ruleIds });
  });

  it.each(['gmail.reader', 'gmail.read.all', 'xgmail.read', 'jiraa.issues', 'crm.list', 'mail.read'])(
    '%s matches nothing',
    (tool) => {
      expect(decide(tool).effect).toBe('deny');
    },
  );

  it('treats dots literally and * as any run of characters', () => {
    const dots = definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['x.a.b'] })]);
    expect(dots.decide(call('x.aXb')).effect).toBe('deny');
    expect(dots.decide(call('x.a.b')).effect).toBe('allow');
    const all = definePolicy({ id: 'p', version: '1' }, [permit({ id: 'a', tools: ['*'] })]);
    expect(all.decide(call('anything.at.all')).effect).toBe('allow');
  });
});

describe('explain', () => {
  it('reports how every rule fared, with the same decision as decide', () => {
    const policy = definePolicy({ id: 'p', version: '1' }, [
      permit({ id: 'ok', tools: ['x.*'] }),
      permit({ id: 'off', tools: ['x.y'], when: () => false }),
      forbid({ id: 'elsewhere', tools: ['z.*'] }),
      requireApproval({
        id: 'broken',
        tools: ['x.y'],
        approvers: { role: 'r', count: 1 },
        when: () => {
          throw new Error('bad');
        },
      }),
    ]);
    const request: PolicyRequest = call('x.y');
    const explanation = policy.explain(request);
    expect(explanation.decision).toEqual(policy.decide(request));
    expect(explanation.rules).toEqual([
      { ruleId: 'ok', effect: 'permit', outcome: 'matched' },
      { ruleId: 'off', effect: 'permit', outcome: 'condition_false' },
      { ruleId: 'elsewhere', effect: 'forbid', outcome: 'tool_not_matched' },
      { ruleId: 'broken', effect: 'require_approval', outcome: 'error', error: 'bad' },
    ]);
    expect(policy.explain(call('q.q')).rules.every((rule) => rule.outcome === 'tool_not_matched')).toBe(true);
  });
});
