import type { IdempotencyClaimRequest, IdempotencyRecord } from '@custody/core';
import { sha256Hex } from '@custody/core/ledger';
import { expect } from 'vitest';
import type { DefineCheck } from './conformance-harness.js';

/** The runtime's clock is passed in with every call, so no check waits on real time. */
const NOW = 1_893_456_000_000;
const LEASE_MS = 30_000;
const TTL_MS = 24 * 60 * 60 * 1000;
const FINGERPRINT = sha256Hex('stripe.refund@1.2.0 {"amountCents":500}');
const OTHER_FINGERPRINT = sha256Hex('stripe.refund@1.2.0 {"amountCents":900}');

function claimRequest(overrides: Partial<IdempotencyClaimRequest> = {}): IdempotencyClaimRequest {
  return {
    tenant: 'tenant-a',
    key: 'refund-ch_1',
    fingerprint: FINGERPRINT,
    callId: 'call-1',
    leaseMs: LEASE_MS,
    now: NOW,
    ...overrides,
  };
}

function completedRecord(overrides: Partial<IdempotencyRecord> = {}): IdempotencyRecord {
  return {
    tenant: 'tenant-a',
    key: 'refund-ch_1',
    fingerprint: FINGERPRINT,
    outcome: { status: 'ok', output: { refundId: 're_1', amountCents: 500, note: 'ünïcödé 😀 漢字' } },
    callId: 'call-1',
    completedAt: NOW + 1_000,
    ...overrides,
  };
}

/** Claim, in-progress, conflict, completion, lease expiry, release, ttl expiry and durability. */
export function idempotencyChecks(check: DefineCheck): void {
  check.section('idempotency', () => {
    check(
      'the first claim owns the key; a second one is in_progress until the lease ends',
      ['idempotency'],
      async (c) => {
        const store = c.idempotency;
        expect(await store.claim(claimRequest()), 'first claim').toEqual({ status: 'claimed' });
        const expected = { status: 'in_progress', leaseExpiresAt: NOW + LEASE_MS };
        expect(await store.claim(claimRequest({ callId: 'call-2', now: NOW + 1 })), 'second claim').toEqual(
          expected,
        );
        expect(
          await store.claim(claimRequest({ callId: 'call-3', now: NOW + LEASE_MS - 1 })),
          'a claim 1 ms before the lease ends',
        ).toEqual(expected);
      },
    );

    check(
      'the same key with another fingerprint is a conflict, claimed or completed',
      ['idempotency'],
      async (c) => {
        const store = c.idempotency;
        await store.claim(claimRequest());
        expect(
          await store.claim(claimRequest({ callId: 'call-2', fingerprint: OTHER_FINGERPRINT })),
          'other input while claimed',
        ).toEqual({ status: 'conflict', fingerprint: FINGERPRINT });
        await store.complete({ ...completedRecord(), ttlMs: TTL_MS });
        expect(
          await store.claim(
            claimRequest({ callId: 'call-3', fingerprint: OTHER_FINGERPRINT, now: NOW + 2_000 }),
          ),
          'other input once completed',
        ).toEqual({ status: 'conflict', fingerprint: FINGERPRINT });
      },
    );

    check(
      'complete stores the outcome and later claims get it as stored, failures included',
      ['idempotency'],
      async (c) => {
        const store = c.idempotency;
        const ok = completedRecord();
        const failed = completedRecord({
          key: 'refund-ch_2',
          callId: 'call-9',
          outcome: { status: 'failed', code: 'CUSTODY_EXECUTION_FAILED', message: 'card declined — 拒否 🚫' },
        });
        for (const record of [ok, failed]) {
          expect(
            await store.claim(claimRequest({ key: record.key, callId: record.callId })),
            'claim',
          ).toEqual({
            status: 'claimed',
          });
          await store.complete({ ...record, ttlMs: TTL_MS });
        }
        for (const record of [ok, failed]) {
          const answer = await store.claim(
            claimRequest({ key: record.key, callId: 'call-late', now: NOW + 5_000 }),
          );
          expect(answer, `a later claim of ${record.key}`).toEqual({ status: 'completed', record });
        }
      },
    );

    check('an expired lease lets the next caller claim the key', ['idempotency'], async (c) => {
      const store = c.idempotency;
      await store.claim(claimRequest());
      expect(
        await store.claim(claimRequest({ callId: 'call-2', now: NOW + LEASE_MS })),
        'a claim when the lease has just ended',
      ).toEqual({ status: 'claimed' });
      expect(
        await store.claim(claimRequest({ callId: 'call-3', now: NOW + LEASE_MS + 1 })),
        'the new holder has its own lease',
      ).toEqual({ status: 'in_progress', leaseExpiresAt: NOW + 2 * LEASE_MS });
    });

    check('release gives the key back, and only its holder can release it', ['idempotency'], async (c) => {
      const store = c.idempotency;
      await store.release({ tenant: 'tenant-a', key: 'never-claimed', callId: 'call-0' });
      await store.claim(claimRequest());
      await store.release({ tenant: 'tenant-a', key: 'refund-ch_1', callId: 'call-intruder' });
      expect(
        await store.claim(claimRequest({ callId: 'call-2' })),
        'after a release by another caller',
      ).toEqual({
        status: 'in_progress',
        leaseExpiresAt: NOW + LEASE_MS,
      });
      await store.release({ tenant: 'tenant-a', key: 'refund-ch_1', callId: 'call-1' });
      expect(await store.claim(claimRequest({ callId: 'call-3' })), 'after a release by the holder').toEqual({
        status: 'claimed',
      });
      await store.complete({ ...completedRecord({ callId: 'call-3' }), ttlMs: TTL_MS });
      await store.release({ tenant: 'tenant-a', key: 'refund-ch_1', callId: 'call-3' });
      expect(
        await store.claim(claimRequest({ callId: 'call-4', now: NOW + 2_000 })),
        'release after complete changes nothing',
      ).toEqual({ status: 'completed', record: completedRecord({ callId: 'call-3' }) });
    });

    check(
      'a completed record is kept for ttlMs and then the key is free again',
      ['idempotency'],
      async (c) => {
        const store = c.idempotency;
        const record = completedRecord();
        await store.claim(claimRequest());
        await store.complete({ ...record, ttlMs: TTL_MS });
        expect(
          await store.claim(claimRequest({ callId: 'call-2', now: record.completedAt + TTL_MS - 1 })),
          '1 ms before the ttl ends',
        ).toEqual({ status: 'completed', record });
        expect(
          await store.claim(
            claimRequest({
              callId: 'call-3',
              fingerprint: OTHER_FINGERPRINT,
              now: record.completedAt + TTL_MS,
            }),
          ),
          'when the ttl has ended, even with other input',
        ).toEqual({ status: 'claimed' });
      },
    );

    check('keys are scoped by tenant', ['idempotency'], async (c) => {
      const store = c.idempotency;
      expect(await store.claim(claimRequest({ tenant: 'tenant-a' })), 'tenant-a').toEqual({
        status: 'claimed',
      });
      expect(await store.claim(claimRequest({ tenant: 'tenant-b', callId: 'call-2' })), 'tenant-b').toEqual({
        status: 'claimed',
      });
      await store.complete({ ...completedRecord({ tenant: 'tenant-a' }), ttlMs: TTL_MS });
      expect(
        await store.claim(claimRequest({ tenant: 'tenant-b', callId: 'call-3' })),
        'tenant-b still claimed',
      ).toEqual({ status: 'in_progress', leaseExpiresAt: NOW + LEASE_MS });
    });

    check('concurrent claims of one key: exactly one is claimed', ['idempotency'], async (c) => {
      const answers = await Promise.all(
        Array.from({ length: 10 }, (_, i) => c.idempotency.claim(claimRequest({ callId: `call-${i}` }))),
      );
      expect(
        answers.filter((answer) => answer.status === 'claimed'),
        'claimed answers',
      ).toHaveLength(1);
      expect(
        answers.filter((answer) => answer.status === 'in_progress'),
        'in_progress answers',
      ).toHaveLength(9);
    });

    check(
      'keys of 255 characters with unicode, and outcomes of any JSON, are kept exactly',
      ['idempotency'],
      async (c) => {
        const key = 'ключ-🔑-漢字-"\\-'.padEnd(255, 'k');
        const record = completedRecord({
          key,
          outcome: { status: 'ok', output: [null, true, 0.1, { '': '\u2028', '𝄞': ['e\u0301'] }] },
        });
        await c.idempotency.claim(claimRequest({ key }));
        await c.idempotency.complete({ ...record, ttlMs: TTL_MS });
        expect(await c.idempotency.claim(claimRequest({ key, callId: 'call-2', now: NOW + 2_000 }))).toEqual({
          status: 'completed',
          record,
        });
      },
    );
  });

  check.section('idempotency: durability (reopen)', () => {
    check('completed records and live claims survive a reopen', ['idempotency', 'reopen'], async (c) => {
      const record = completedRecord();
      await c.idempotency.claim(claimRequest());
      await c.idempotency.complete({ ...record, ttlMs: TTL_MS });
      await c.idempotency.claim(claimRequest({ key: 'in-flight', callId: 'call-7' }));
      await c.reopen();
      expect(
        await c.idempotency.claim(claimRequest({ callId: 'call-2', now: NOW + 2_000 })),
        'completed key',
      ).toEqual({
        status: 'completed',
        record,
      });
      expect(
        await c.idempotency.claim(claimRequest({ key: 'in-flight', callId: 'call-8', now: NOW + 2_000 })),
        'claimed key',
      ).toEqual({ status: 'in_progress', leaseExpiresAt: NOW + LEASE_MS });
    });
  });
}
