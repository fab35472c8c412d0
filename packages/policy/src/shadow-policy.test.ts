import { CustodyError, type PolicyDecision, type PolicyEngine } from '@custody/core';
import { describe, expect, it, vi } from 'vitest';
import { definePolicy } from './define-policy.js';
import { forbid, permit, requireApproval } from './rule-builders.js';
import { decisionChanges, type PolicyDifference, shadowPolicy } from './shadow-policy.js';
import { createPolicyRequest } from './testing/create-policy-request.js';

const live = definePolicy({ id: 'support', version: '1' }, [
  permit({ id: 'jira', tools: ['jira.*'] }),
  permit({ id: 'gmail-read', tools: ['gmail.read'] }),
  permit({ id: 'refunds', tools: ['stripe.refund'] }),
]);
const candidate = definePolicy({ id: 'support', version: '2' }, [
  permit({ id: 'jira', tools: ['jira.*'] }),
  forbid({ id: 'jira-settings', tools: ['jira.settings.*'] }),
  permit({ id: 'gmail', tools: ['gmail.*'] }),
  requireApproval({ id: 'refunds', tools: ['stripe.refund'], approvers: { role: 'finance', count: 2 } }),
]);
const call = (tool: string) => createPolicyRequest({ tool });

describe('shadowPolicy', () => {
  it('answers with the live decision and reports every difference with both decisions', () => {
    const differences: PolicyDifference[] = [];
    const engine = shadowPolicy(live, candidate, {
      onDifference: (difference) => differences.push(difference),
    });
    expect(engine.specificationVersion).toBe('v1');
    expect(engine.ref).toBe(live.ref);

    const same = call('jira.issues.create');
    expect(engine.decide(same)).toEqual(live.decide(same));
    expect(differences).toHaveLength(0);

    const settings = call('jira.settings.update');
    expect(engine.decide(settings)).toEqual(live.decide(settings));
    expect(differences).toHaveLength(1);
    expect(differences[0]).toEqual({
      request: settings,
      live: live.decide(settings),
      candidate: candidate.decide(settings),
      changes: ['effect', 'ruleIds'],
    });

    // Same effect, different rule: still a difference.
    engine.decide(call('gmail.read'));
    expect(differences[1]?.changes).toEqual(['ruleIds']);
    expect(differences[1]?.live.effect).toBe('allow');
    expect(differences[1]?.candidate.effect).toBe('allow');

    const refund = engine.decide(call('stripe.refund')) as PolicyDecision;
    expect(refund.effect).toBe('allow');
    expect(differences[2]?.changes).toEqual(['effect', 'approvers']);
    expect(differences[2]?.candidate.approvers).toEqual([{ role: 'finance', count: 2 }]);
  });

  it('never lets a throwing callback or candidate reach the caller', () => {
    const onError = vi.fn();
    const engine = shadowPolicy(live, candidate, {
      onDifference: () => {
        throw new Error('logger down');
      },
      onError,
    });
    expect(engine.decide(call('jira.settings.update'))).toEqual(live.decide(call('jira.settings.update')));
    expect(onError).toHaveBeenCalledWith(new Error('logger down'), {
      request: call('jira.settings.update'),
      source: 'onDifference',
    });

    const broken: PolicyEngine = {
      specificationVersion: 'v1',
      ref: { id: 'broken', version: '1', hash: 'h' },
      decide: () => {
        throw new Error('candidate bug');
      },
    };
    const silent = shadowPolicy(live, broken, { onDifference: () => {} });
    expect(silent.decide(call('jira.read'))).toEqual(live.decide(call('jira.read')));
    const reported = shadowPolicy(live, broken, {
      onDifference: () => {},
      onError: () => {
        throw new Error('even the reporter fails');
      },
    });
    expect(reported.decide(call('jira.read'))).toEqual(live.decide(call('jira.read')));
  });

  it('contains a rejecting async callback', async () => {
    const onError = vi.fn();
    const engine = shadowPolicy(live, candidate, {
      onDifference: async () => {
        throw new Error('async logger down');
      },
      onError,
    });
    engine.decide(call('jira.settings.update'));
    await vi.waitFor(() => expect(onError).toHaveBeenCalledTimes(1));
    expect(onError.mock.calls[0]?.[1]).toMatchObject({ source: 'onDifference' });
  });

  it('compares asynchronous engines once both settle, returning the live promise', async () => {
    const asyncEngine = (engine: PolicyEngine): PolicyEngine => ({
      specificationVersion: 'v1',
      ref: engine.ref,
      decide: async (request) => engine.decide(request),
    });
    const differences: PolicyDifference[] = [];
    const engine = shadowPolicy(live, asyncEngine(candidate), { onDifference: (d) => differences.push(d) });
    expect(engine.decide(call('jira.settings.update'))).toEqual(live.decide(call('jira.settings.update')));
    await vi.waitFor(() => expect(differences).toHaveLength(1));

    const both = shadowPolicy(asyncEngine(live), asyncEngine(candidate), {
      onDifference: (d) => differences.push(d),
    });
    const answer = both.decide(call('jira.settings.update'));
    expect(answer).toBeInstanceOf(Promise);
    expect((await answer).effect).toBe('allow');
    await vi.waitFor(() => expect(differences).toHaveLength(2));

    const onError = vi.fn();
    const rejecting: PolicyEngine = {
      ...asyncEngine(candidate),
      decide: async () => Promise.reject(new Error('down')),
    };
    shadowPolicy(live, rejecting, { onDifference: () => {}, onError }).decide(call('jira.read'));
    await vi.waitFor(() =>
      expect(onError).toHaveBeenCalledWith(
        new Error('down'),
        expect.objectContaining({ source: 'candidate' }),
      ),
    );
  });

  it('validates its arguments', () => {
    const codeOf = (fn: () => unknown) => {
      try {
        fn();
      } catch (error) {
        return CustodyError.isInstance(error) ? `${error.code}: ${error.message}` : String(error);
      }
      return 'nothing thrown';
    };
    expect(codeOf(() => shadowPolicy({} as never, candidate, { onDifference: () => {} }))).toContain(
      'CUSTODY_INVALID_ARGUMENT: [custody] shadowPolicy() live must be a PolicyEngine',
    );
    expect(codeOf(() => shadowPolicy(live, null as never, { onDifference: () => {} }))).toContain(
      'candidate must be a PolicyEngine',
    );
    expect(codeOf(() => shadowPolicy(live, candidate, {} as never))).toContain(
      'needs options with an onDifference function',
    );
    expect(
      codeOf(() => shadowPolicy(live, candidate, { onDifference: () => {}, onError: 1 as never })),
    ).toContain('onError must be a function when given, got 1');
  });
});

describe('decisionChanges', () => {
  const ref = { id: 'p', version: '1', hash: 'h' };
  const base: PolicyDecision = {
    effect: 'require_approval',
    policy: ref,
    ruleIds: ['a', 'b'],
    reasons: ['x'],
    approvers: [
      { role: 'r', count: 1 },
      { role: 's', count: 2 },
    ],
  };

  it('compares rule ids and approvers as sets and ignores reasons and refs', () => {
    expect(
      decisionChanges(base, {
        ...base,
        ruleIds: ['b', 'a'],
        reasons: ['y'],
        policy: { ...ref, version: '2' },
        approvers: [
          { role: 's', count: 2 },
          { role: 'r', count: 1 },
        ],
      }),
    ).toEqual([]);
    expect(decisionChanges(base, { ...base, ruleIds: ['a'] })).toEqual(['ruleIds']);
    expect(decisionChanges(base, { ...base, ruleIds: ['a', 'c'] })).toEqual(['ruleIds']);
    expect(
      decisionChanges(base, {
        ...base,
        approvers: [
          { role: 'r', count: 1 },
          { role: 's', count: 3 },
        ],
      }),
    ).toEqual(['approvers']);
    expect(decisionChanges(base, { ...base, effect: 'deny', approvers: undefined })).toEqual([
      'effect',
      'approvers',
    ]);
  });
});
