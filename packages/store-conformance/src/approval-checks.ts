import type { ApprovalQuery, ApprovalRequest } from '@custody/core';
import { expect } from 'vitest';
import type { DefineCheck } from './conformance-harness.js';
import { approvalRequest, expectCustodyError } from './fixtures.js';

/** A request seen through a mutable lens: what a careless caller could do to an object it holds. */
interface WritableRequest {
  status: string;
  tenant: string;
  input: { amountCents: number };
  approvers: { count: number }[];
  ruleIds: string[];
  reasons: string[];
}

const byId = (a: ApprovalRequest, b: ApprovalRequest) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** A spread of requests over two tenants, three runs and several statuses. */
function approvalDataset(): ApprovalRequest[] {
  return [
    approvalRequest('apr-1'),
    approvalRequest('apr-2', { status: 'approved' }),
    approvalRequest('apr-3', { runId: 'run-2' }),
    approvalRequest('apr-4', { tenant: 'tenant-b', runId: 'run-3', resource: { tenant: 'tenant-b' } }),
    approvalRequest('apr-5', { tenant: 'tenant-b', runId: 'run-3', status: 'expired' }),
    approvalRequest('apr-6', { runId: 'run-2', status: 'consumed', onBehalfOf: null }),
  ];
}

/** Create, get, list with filters, duplicate ids, isolation from caller mutation, durability. */
export function approvalChecks(check: DefineCheck): void {
  check.section('approvals', () => {
    check(
      'create then get returns the request as stored; unknown ids are undefined',
      ['approvals'],
      async (c) => {
        const request = approvalRequest('apr-1');
        await c.approvals.create(request);
        expect(await c.approvals.get('apr-1'), 'get() of a created request').toEqual(request);
        expect(await c.approvals.get('apr-404'), 'get() of an unknown id').toBeUndefined();
      },
    );

    check(
      'a duplicate id is rejected with CUSTODY_STORE_ERROR and the first request kept',
      ['approvals'],
      async (c) => {
        const first = approvalRequest('apr-1');
        await c.approvals.create(first);
        await expectCustodyError(
          c.approvals.create(approvalRequest('apr-1', { tenant: 'tenant-b', status: 'approved' })),
          'CUSTODY_STORE_ERROR',
          'create() with an id that exists',
        );
        expect(await c.approvals.get('apr-1'), 'the first request').toEqual(first);
        expect(await c.approvals.list(), 'list() after the duplicate').toHaveLength(1);
      },
    );

    check('list filters by tenant, runId and status, alone or combined', ['approvals'], async (c) => {
      const all = approvalDataset();
      for (const request of all) await c.approvals.create(request);
      const queries: ApprovalQuery[] = [
        {},
        { tenant: 'tenant-a' },
        { tenant: 'tenant-b' },
        { tenant: 'tenant-z' },
        { runId: 'run-2' },
        { status: 'pending' },
        { status: 'consumed' },
        { status: 'rejected' },
        { tenant: 'tenant-b', status: 'expired' },
        { tenant: 'tenant-a', runId: 'run-2', status: 'pending' },
        { tenant: 'tenant-a', runId: 'run-3' },
      ];
      for (const query of queries) {
        const expected = all.filter(
          (request) =>
            (query.tenant === undefined || request.tenant === query.tenant) &&
            (query.runId === undefined || request.runId === query.runId) &&
            (query.status === undefined || request.status === query.status),
        );
        const listed = await c.approvals.list(query);
        expect([...listed].sort(byId), `list(${JSON.stringify(query)})`).toEqual(expected);
      }
      expect([...(await c.approvals.list())].sort(byId), 'list() without a query').toEqual(all);
    });

    check(
      'the stored copy is not affected by mutating the caller’s object or a returned one',
      ['approvals'],
      async (c) => {
        const original = approvalRequest('apr-1');
        const request = structuredClone(original);
        await c.approvals.create(request);
        const written = request as unknown as WritableRequest;
        written.status = 'approved';
        written.input.amountCents = 1;
        written.approvers[0]!.count = 0;
        written.ruleIds.push('forged');
        expect(await c.approvals.get('apr-1'), 'after mutating the created object').toEqual(original);

        const fetched = (await c.approvals.get('apr-1')) as unknown as WritableRequest;
        fetched.status = 'consumed';
        fetched.reasons.push('forged');
        const [listed] = (await c.approvals.list()) as unknown as WritableRequest[];
        listed!.tenant = 'tenant-forged';
        expect(await c.approvals.get('apr-1'), 'after mutating returned objects').toEqual(original);
        expect(await c.approvals.list({ status: 'consumed' }), 'list by the forged status').toEqual([]);
      },
    );
  });

  check.section('approvals: durability (reopen)', () => {
    check('requests survive a reopen', ['approvals', 'reopen'], async (c) => {
      const all = approvalDataset();
      for (const request of all) await c.approvals.create(request);
      await c.reopen();
      expect(await c.approvals.get('apr-4'), 'get() after reopen').toEqual(all[3]);
      expect([...(await c.approvals.list({ tenant: 'tenant-a' }))].sort(byId), 'list() after reopen').toEqual(
        all.filter((request) => request.tenant === 'tenant-a'),
      );
      await expectCustodyError(
        c.approvals.create(approvalRequest('apr-1')),
        'CUSTODY_STORE_ERROR',
        'a duplicate id after reopen',
      );
    });
  });
}
