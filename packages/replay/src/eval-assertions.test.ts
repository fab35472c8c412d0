import type { CallResult, PolicyDecision } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { checkAssertion, type ObservedCall } from './eval-assertions.js';

const policy = { id: 'p', version: '1', hash: 'h' };
const allow: PolicyDecision = { effect: 'allow', policy, ruleIds: ['ok'], reasons: [] };
const deny: PolicyDecision = { effect: 'deny', policy, ruleIds: ['no'], reasons: ['no'] };

function call(
  step: number,
  tool: string,
  input: unknown,
  result: Partial<CallResult>,
  decision?: PolicyDecision,
) {
  return {
    step,
    tool,
    input,
    result: { callId: `c${step}`, tool, ...result } as CallResult,
    ...(decision ? { decision } : {}),
  } satisfies ObservedCall;
}

const ok = (step: number, tool: string, input: unknown = {}) =>
  call(step, tool, input, { status: 'ok', output: {}, idempotencyHit: false, decision: allow }, allow);
const denied = (step: number, tool: string, input: unknown = {}) =>
  call(
    step,
    tool,
    input,
    { status: 'denied', code: 'CUSTODY_POLICY_DENIED', reason: 'no', decision: deny },
    deny,
  );
const pending = (
  step: number,
  tool: string,
  input: unknown,
  approvers: { role: string; count: number }[],
) => {
  const decision: PolicyDecision = {
    effect: 'require_approval',
    policy,
    ruleIds: ['big'],
    reasons: [],
    approvers,
  };
  return call(
    step,
    tool,
    input,
    { status: 'pending_approval', approval: { id: 'a', digest: 'd', approvers, expiresAt: '' }, decision },
    decision,
  );
};
const failed = (step: number, tool: string, executed: boolean) =>
  call(
    step,
    tool,
    {},
    { status: 'failed', code: 'CUSTODY_EXECUTION_FAILED', message: 'x', retryable: false, executed },
    allow,
  );
const invalid = (step: number, tool: string, input: unknown) =>
  call(step, tool, input, { status: 'invalid', code: 'CUSTODY_INPUT_INVALID', message: 'bad', issues: [] });

describe('never_called and max_calls', () => {
  it('count a call as made when it went through: ok (idempotency hits too) or failed after running', () => {
    const calls = [denied(0, 'mail.send'), failed(1, 'mail.send', false), invalid(2, 'mail.send', {})];
    expect(checkAssertion({ kind: 'never_called', tool: 'mail.send' }, calls)).toMatchObject({
      passed: true,
      message:
        'mail.send never went through (requested 3 times: step 0 (denied), step 1 (failed before running), step 2 (invalid))',
    });
    const ran = [...calls, failed(3, 'mail.send', true)];
    expect(checkAssertion({ kind: 'never_called', tool: 'mail.send' }, ran)).toMatchObject({
      passed: false,
      steps: [3],
      message: 'mail.send went through 1 time: step 3 (failed after running)',
    });
    const hit = call(4, 'mail.send', {}, { status: 'ok', output: {}, idempotencyHit: true, decision: allow });
    expect(checkAssertion({ kind: 'never_called', tool: 'mail.send' }, [hit]).passed).toBe(false);
    expect(checkAssertion({ kind: 'never_called', tool: 'mail.send' }, [])).toMatchObject({
      passed: true,
      message: 'mail.send never went through (not requested)',
    });
  });

  it('match tool patterns', () => {
    const calls = [ok(0, 'gmail.read'), ok(1, 'gmail.draft'), ok(2, 'jira.create_issue')];
    expect(checkAssertion({ kind: 'never_called', tool: 'gmail.*' }, calls).steps).toEqual([0, 1]);
    expect(checkAssertion({ kind: 'max_calls', tool: '*', count: 3 }, calls).passed).toBe(true);
    expect(checkAssertion({ kind: 'max_calls', tool: '*', count: 2 }, calls)).toMatchObject({
      passed: false,
      message: '* went through 3 times, at most 2 allowed: step 0 (ok), step 1 (ok), step 2 (ok)',
    });
  });
});

describe('requires_approval_above', () => {
  const assertion = {
    kind: 'requires_approval_above',
    tool: 'stripe.refund',
    field: 'amountCents',
    threshold: 5_000,
    approvers: 2,
  } as const;

  it('passes when every call above the threshold waits for enough approvers or is refused', () => {
    const calls = [
      ok(0, 'stripe.refund', { amountCents: 5_000 }), // at the threshold: not above
      pending(1, 'stripe.refund', { amountCents: 9_000 }, [{ role: 'finance', count: 2 }]),
      pending(2, 'stripe.refund', { amountCents: 9_000 }, [
        { role: 'finance', count: 1 },
        { role: 'support-lead', count: 1 },
      ]),
      denied(3, 'stripe.refund', { amountCents: 90_000 }),
      invalid(4, 'stripe.refund', { amountCents: 7_000_000 }),
      ok(5, 'stripe.refund', { amountCents: 'lots' }), // not a number: not checked
    ];
    expect(checkAssertion(assertion, calls)).toMatchObject({
      passed: true,
      message: '4 calls of stripe.refund with amountCents above 5000: each held for 2 approvers or refused',
    });
  });

  it('fails a call that went through, or waits for too few approvers (of the role, when given)', () => {
    const calls = [
      ok(0, 'stripe.refund', { amountCents: 5_001 }),
      pending(1, 'stripe.refund', { amountCents: 9_000 }, [{ role: 'finance', count: 1 }]),
      pending(2, 'stripe.refund', { amountCents: 9_000 }, [
        { role: 'finance', count: 1 },
        { role: 'support-lead', count: 1 },
      ]),
      failed(3, 'stripe.refund', false),
    ];
    const result = checkAssertion(assertion, calls);
    expect(result).toMatchObject({ passed: false, steps: [0, 1] });
    expect(result.message).toBe(
      'stripe.refund with amountCents above 5000 must wait for 2 approvers: amountCents 5001 at step 0 (ok), amountCents 9000 at step 1 (pending_approval: 1 finance)',
    );
    expect(checkAssertion({ ...assertion, role: 'finance' }, calls).steps).toEqual([0, 1, 2]);
  });

  it('reads nested fields, and says when no call was above the threshold', () => {
    const calls = [ok(0, 'stripe.refund', { refund: { amountCents: 60_000 } })];
    expect(checkAssertion({ ...assertion, field: 'refund.amountCents' }, calls).passed).toBe(false);
    expect(checkAssertion(assertion, calls)).toMatchObject({
      passed: true,
      message: 'no stripe.refund call had amountCents above 5000',
    });
  });

  it('judges a re-decided call by the current decision', () => {
    const held = pending(0, 'stripe.refund', { amountCents: 9_000 }, [{ role: 'finance', count: 2 }]);
    expect(checkAssertion(assertion, [{ ...held, current: allow }])).toMatchObject({
      passed: false,
      message:
        'stripe.refund with amountCents above 5000 must wait for 2 approvers: amountCents 9000 at step 0 (allowed by the current policy (recorded pending_approval))',
    });
    const fewer: PolicyDecision = {
      ...allow,
      effect: 'require_approval',
      approvers: [{ role: 'finance', count: 1 }],
    };
    const passedThrough = ok(1, 'stripe.refund', { amountCents: 9_000 });
    expect(checkAssertion(assertion, [{ ...passedThrough, current: fewer }]).message).toContain(
      'held for 1 finance by the current policy (recorded ok)',
    );
    expect(checkAssertion(assertion, [{ ...passedThrough, current: deny }]).passed).toBe(true);
  });
});

describe('decision', () => {
  it('checks the effect of every call that reached the policy', () => {
    const calls = [denied(0, 'gmail.send'), invalid(1, 'gmail.send', {}), ok(2, 'gmail.send')];
    expect(checkAssertion({ kind: 'decision', tool: 'gmail.send', effect: 'deny' }, calls)).toMatchObject({
      passed: false,
      steps: [2],
      message: 'gmail.send must be decided deny: step 2 was decided allow (ok)',
    });
    expect(
      checkAssertion({ kind: 'decision', tool: 'gmail.send', effect: 'deny' }, calls.slice(0, 2)),
    ).toMatchObject({
      passed: true,
      message: 'every gmail.send call was decided deny (1)',
    });
    expect(checkAssertion({ kind: 'decision', tool: 'jira.*', effect: 'allow' }, calls)).toMatchObject({
      passed: true,
      message: 'no jira.* call reached the policy',
    });
  });
});
