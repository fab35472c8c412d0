import { describe, expect, it } from 'vitest';
import { makeRuntime, simplePolicy, startTriageRun } from '../../test/helpers.js';
import { EventTypes, InMemoryApprovalStore, readAll } from '../index.js';

describe('decide-policy: deny, fail closed, approval requests', () => {
  it('denies what the policy denies and explains it', async () => {
    const { runtime, calls } = makeRuntime({
      policy: simplePolicy((request) =>
        request.tool.name === 'stripe.refund'
          ? { effect: 'deny', ruleIds: ['no-refunds'], reasons: ['refunds are frozen'] }
          : { effect: 'allow' },
      ),
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 100 });
    expect(result).toMatchObject({
      status: 'denied',
      code: 'CUSTODY_POLICY_DENIED',
      reason: 'refunds are frozen',
      decision: { ruleIds: ['no-refunds'] },
    });
    expect(calls).toEqual([]);
  });

  it('fails closed when the policy throws or answers nonsense', async () => {
    for (const decide of [
      () => {
        throw new Error('rule engine down');
      },
      () => ({ effect: 'maybe' }),
    ]) {
      const { runtime, calls } = makeRuntime({
        policy: {
          specificationVersion: 'v1',
          ref: { id: 'p', version: '1', hash: 'h' },
          decide: decide as never,
        },
      });
      const run = await startTriageRun(runtime);
      const result = await run.call('stripe.refund', { chargeId: 'ch_1', amountCents: 100 });
      expect(result).toMatchObject({ status: 'denied', code: 'CUSTODY_POLICY_ERROR' });
      expect(calls).toEqual([]);
    }
  });

  it('creates a durable approval request bound to an action digest, executing nothing', async () => {
    const { runtime, stores, calls, clock } = makeRuntime({
      policy: simplePolicy(() => ({
        effect: 'require_approval',
        ruleIds: ['big-refund'],
        approvers: [{ role: 'finance', count: 2 }],
      })),
      approvalTtlMs: 60_000,
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_000 });
    expect(result.status).toBe('pending_approval');
    if (result.status !== 'pending_approval') return;
    expect(result.approval.digest).toMatch(/^[0-9a-f]{64}$/);
    expect(result.approval.approvers).toEqual([{ role: 'finance', count: 2 }]);
    expect(result.approval.expiresAt).toBe(new Date(clock.now() + 60_000).toISOString());
    expect(calls).toEqual([]);
    const stored = await stores.approvals.get(result.approval.id);
    expect(stored).toMatchObject({
      status: 'pending',
      digest: result.approval.digest,
      requestedBy: 'agent:triage-bot',
      input: { chargeId: 'ch_9', amountCents: 90_000 },
      tool: { name: 'stripe.refund', version: '2.1.0' },
    });
    // The same action yields the same digest; a different amount does not.
    const again = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_000 });
    const other = await run.call('stripe.refund', { chargeId: 'ch_9', amountCents: 90_001 });
    expect(again.status === 'pending_approval' && again.approval.digest).toBe(result.approval.digest);
    expect(other.status === 'pending_approval' && other.approval.digest).not.toBe(result.approval.digest);
    const events = await readAll(stores.ledger, { type: EventTypes.approvalRequested });
    expect(events).toHaveLength(3);
  });

  it('answers failed when the approval request cannot be stored', async () => {
    const approvals = new InMemoryApprovalStore();
    approvals.create = async () => Promise.reject(new Error('db locked'));
    const { runtime, calls } = makeRuntime({
      stores: { approvals },
      policy: simplePolicy(() => ({
        effect: 'require_approval',
        approvers: [{ role: 'finance', count: 1 }],
      })),
    });
    const run = await startTriageRun(runtime);
    const result = await run.call('stripe.refund', { chargeId: 'c', amountCents: 1 });
    expect(result).toMatchObject({ status: 'failed', code: 'CUSTODY_STORE_ERROR', executed: false });
    expect(calls).toEqual([]);
  });
});
