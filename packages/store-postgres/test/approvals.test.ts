import { type ApprovalRequest, type ApprovalStore, CustodyError, InMemoryApprovalStore } from '@custody/core';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

function request(id: string, fields: Partial<ApprovalRequest> = {}): ApprovalRequest {
  return {
    id,
    digest: 'ab'.repeat(32),
    status: 'pending',
    tenant: 'acme',
    runId: 'run-1',
    callId: `call-${id}`,
    tool: { name: 'stripe.refund', version: '2.1.0' },
    input: { chargeId: 'ch_1', amountCents: 500, memo: 'Rückerstattung 💶' },
    resource: { tenant: 'acme', customer: 'cus_9' },
    requestedBy: 'agent:billing@1.0.0',
    onBehalfOf: 'user:alice',
    agent: { id: 'billing', version: '1.0.0' },
    approvers: [{ role: 'finance', count: 2 }],
    policy: { id: 'payments', version: '3', hash: 'c'.repeat(64) },
    ruleIds: ['refund-over-100'],
    reasons: ['refunds over $100 need two finance approvers'],
    createdAt: '2025-01-01T00:00:00.000Z',
    expiresAt: '2025-01-02T00:00:00.000Z',
    ...fields,
  };
}

describePostgres('PostgreSQL approval store', () => {
  const schema = freshSchemaName();
  const pool = createTestPool(3);
  let stores: PostgresStores;

  beforeAll(async () => {
    stores = createPostgresStores({ client: pool, schema });
    await stores.migrate();
  });

  afterAll(async () => {
    await stores?.close();
    await dropSchema(pool, schema);
    await pool.end();
  });

  it('stores, gets and lists requests exactly as the in-memory store does', async () => {
    const memory = new InMemoryApprovalStore();
    const requests = [
      request('a1'),
      request('a2', { runId: 'run-2', status: 'approved' }),
      request('a3', { tenant: 'globex', resource: { tenant: 'globex' } }),
      request('a4', { status: 'approved', onBehalfOf: null }),
    ];
    for (const r of requests) {
      await memory.create(r);
      await stores.approvals.create(r);
    }
    const compare = async (store: ApprovalStore) => ({
      one: await store.get('a2'),
      missing: await store.get('nope'),
      all: await store.list(),
      tenant: await store.list({ tenant: 'acme' }),
      run: await store.list({ runId: 'run-1' }),
      status: await store.list({ status: 'approved' }),
      both: await store.list({ tenant: 'acme', status: 'pending' }),
    });
    const expected = await compare(memory);
    expect(await compare(stores.approvals)).toEqual(expected);
    expect(expected.all.map((r) => r.id)).toEqual(['a1', 'a2', 'a3', 'a4']);
  });

  it('rejects a duplicate id with CUSTODY_STORE_ERROR and keeps the first', async () => {
    await stores.approvals.create(request('dup'));
    const error = await stores.approvals.create(request('dup', { tenant: 'other' })).catch((e: unknown) => e);
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_STORE_ERROR');
    expect((await stores.approvals.get('dup'))?.tenant).toBe('acme');
  });

  it('returns a copy the caller cannot change the stored request through', async () => {
    const original = request('copy');
    await stores.approvals.create(original);
    (original.input as { amountCents: number }).amountCents = 1;
    expect((await stores.approvals.get('copy'))?.input).toMatchObject({ amountCents: 500 });
  });

  it('refuses a request that is not faithful JSON', async () => {
    const error = await stores.approvals
      .create(request('bad', { input: { when: new Date(0) } }))
      .catch((e: unknown) => e);
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_CANONICAL_INVALID');
    expect(await stores.approvals.get('bad')).toBeUndefined();
  });
});
