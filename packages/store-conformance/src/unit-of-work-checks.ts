import type { IdempotencyClaimRequest, IdempotencyCompletion, LedgerEvent } from '@custody/core';
import { readAll } from '@custody/core';
import { sha256Hex } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectConflict, expectStream, settle } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { expectCustodyError } from './fixtures.js';

const NOW = 1_893_456_000_000;
const LEASE_MS = 30_000;
const TTL_MS = 24 * 60 * 60 * 1000;
const FINGERPRINT = sha256Hex('tickets.create@1.0.0 {"title":"Printer on fire"}');

function claim(key: string, overrides: Partial<IdempotencyClaimRequest> = {}): IdempotencyClaimRequest {
  return {
    tenant: 'tenant-a',
    key,
    fingerprint: FINGERPRINT,
    callId: `call-${key}`,
    leaseMs: LEASE_MS,
    now: NOW,
    ...overrides,
  };
}

function completion(key: string): IdempotencyCompletion {
  return {
    tenant: 'tenant-a',
    key,
    fingerprint: FINGERPRINT,
    callId: `call-${key}`,
    outcome: { status: 'ok', output: { ticketId: `T-${key}`, note: 'ünïcödé 😀' } },
    completedAt: NOW + 1_000,
    ttlMs: TTL_MS,
  };
}

/** The events and the key a call writes before its effect, as the runtime commits them. */
function before(c: CheckContext, name: string): { stream: string; events: LedgerEvent[] } {
  const stream = c.events.stream(name);
  return {
    stream,
    events: [
      c.events.next(stream, { type: 'tool.requested' }),
      c.events.next(stream, { type: 'policy.decided' }),
    ],
  };
}

/**
 * The unit-of-work port: a unit's events and its idempotency change commit together or not at
 * all, a claim answers as the idempotency store would, concurrent units settle on their own, and
 * what a commit acknowledged is what the stores read back (after a reopen, too).
 */
export function unitOfWorkChecks(check: DefineCheck): void {
  check.section('unit of work', () => {
    check('names the very ledger and idempotency stores it commits to', ['unitOfWork'], async (c) => {
      expect(c.unitOfWork.specificationVersion, 'specificationVersion').toBe('v1');
      expect(c.unitOfWork.ledger === c.ledger, 'unitOfWork.ledger is the ledger store under test').toBe(true);
      expect(
        c.unitOfWork.idempotency === c.idempotency,
        'unitOfWork.idempotency is the idempotency store under test',
      ).toBe(true);
    });

    check('a claim commits with its events, and both are read back at once', ['unitOfWork'], async (c) => {
      const { stream, events } = before(c, 'claim');
      const result = await c.unitOfWork.commit({ events, claim: claim('k-claim') });
      expect(result, 'the claim answer').toEqual({ claim: { status: 'claimed' } });
      await expectStream(c.ledger, stream, events, 'events of a committed claim');
      expect(
        await c.idempotency.claim(claim('k-claim', { callId: 'other', now: NOW + 1 })),
        'claim again',
      ).toEqual({
        status: 'in_progress',
        leaseExpiresAt: NOW + LEASE_MS,
      });
    });

    check(
      'a claim that does not take its key answers so, and its events still commit',
      ['unitOfWork'],
      async (c) => {
        await c.idempotency.claim(claim('k-taken'));
        const first = before(c, 'taken-same');
        const same = await c.unitOfWork.commit({
          events: first.events,
          claim: claim('k-taken', { callId: 'call-2', now: NOW + 5 }),
        });
        expect(same.claim, 'same fingerprint, lease running').toEqual({
          status: 'in_progress',
          leaseExpiresAt: NOW + LEASE_MS,
        });
        await expectStream(c.ledger, first.stream, first.events, 'events of the in-progress claim');

        const second = before(c, 'taken-other');
        const other = await c.unitOfWork.commit({
          events: second.events,
          claim: claim('k-taken', { callId: 'call-3', fingerprint: sha256Hex('other'), now: NOW + 6 }),
        });
        expect(other.claim, 'another fingerprint').toEqual({ status: 'conflict', fingerprint: FINGERPRINT });
        await expectStream(c.ledger, second.stream, second.events, 'events of the conflicting claim');
      },
    );

    check(
      'a completion commits with its events; the key then answers completed',
      ['unitOfWork'],
      async (c) => {
        const { stream, events } = before(c, 'complete');
        await c.unitOfWork.commit({ events, claim: claim('k-done') });
        const result = c.events.next(stream, { type: 'tool.result' });
        expect(await c.unitOfWork.commit({ events: [result], complete: completion('k-done') })).toEqual({});
        await expectStream(c.ledger, stream, [...events, result], 'events of claim and completion');
        const { ttlMs: _ttl, ...record } = completion('k-done');
        expect(
          await c.idempotency.claim(claim('k-done', { now: NOW + 2_000 })),
          'claim after completion',
        ).toEqual({
          status: 'completed',
          record,
        });
      },
    );

    check('a release commits with its events; the key can be claimed again', ['unitOfWork'], async (c) => {
      const { stream, events } = before(c, 'release');
      await c.unitOfWork.commit({ events, claim: claim('k-release') });
      const refused = c.events.next(stream, { type: 'tool.result' });
      await c.unitOfWork.commit({
        events: [refused],
        release: { tenant: 'tenant-a', key: 'k-release', callId: 'call-k-release' },
      });
      await expectStream(c.ledger, stream, [...events, refused], 'events of claim and release');
      expect(await c.idempotency.claim(claim('k-release', { callId: 'call-9', now: NOW + 1 }))).toEqual({
        status: 'claimed',
      });
    });

    check(
      'a unit whose events conflict writes nothing, not even its key change',
      ['unitOfWork'],
      async (c) => {
        const stream = c.events.stream('conflict');
        const stored = c.events.next(stream);
        await c.ledger.append([stored]);
        const rival = c.events.after(undefined, stream, { type: 'tool.requested' });
        expectConflict(
          await settle(c.unitOfWork.commit({ events: [rival], claim: claim('k-conflict') })),
          'forked unit',
        );
        await expectStream(c.ledger, stream, [stored], 'the stream after the rejected unit');
        expect(await c.idempotency.claim(claim('k-conflict')), 'the key the rejected unit claimed').toEqual({
          status: 'claimed',
        });
      },
    );

    check(
      'refuses a malformed unit and writes nothing, not even its key change',
      ['unitOfWork'],
      async (c) => {
        const { stream, events } = before(c, 'malformed');
        await expectCustodyError(
          c.unitOfWork.commit({ events: undefined as unknown as LedgerEvent[], claim: claim('k-bad') }),
          'CUSTODY_INVALID_ARGUMENT',
          'a unit without an events array',
        );
        await expectCustodyError(
          c.unitOfWork.commit(null as unknown as { events: LedgerEvent[] }),
          'CUSTODY_INVALID_ARGUMENT',
          'no unit at all',
        );
        await expectCustodyError(
          c.unitOfWork.commit({ events: [events[1]!], claim: claim('k-bad') }),
          'CUSTODY_LEDGER_CONFLICT',
          'a unit whose first event skips seq 0',
        );
        expect(await c.idempotency.claim(claim('k-bad')), 'the key the refused units named').toEqual({
          status: 'claimed',
        });
        await expectStream(c.ledger, stream, [], 'the stream after the refused units');
      },
    );

    check(
      '16 concurrent units settle on their own: one conflict is rejected alone, the rest commit',
      ['unitOfWork'],
      async (c) => {
        const units = Array.from({ length: 16 }, (_, i) => ({
          key: `k-many-${i}`,
          ...before(c, `many-${i}`),
        }));
        const stolen = units[7]!;
        // Another writer takes unit 7's stream first: its events no longer extend the stored head.
        const winner = c.events.after(undefined, stolen.stream, { type: 'run.started' });
        await c.ledger.append([winner]);
        const results = await Promise.all(
          units.map((unit) => settle(c.unitOfWork.commit({ events: unit.events, claim: claim(unit.key) }))),
        );
        for (const [i, unit] of units.entries()) {
          if (unit === stolen) {
            expectConflict(results[i]!, 'the unit that lost its stream');
            await expectStream(c.ledger, unit.stream, [winner], 'the lost stream');
            expect(await c.idempotency.claim(claim(unit.key)), "the rejected unit's key").toEqual({
              status: 'claimed',
            });
            continue;
          }
          expect(results[i], `unit ${i}`).toEqual({
            status: 'fulfilled',
            value: { claim: { status: 'claimed' } },
          });
          await expectStream(c.ledger, unit.stream, unit.events, `unit ${i}'s events`);
        }
        expect((await readAll(c.ledger)).length, 'every event of the group').toBe(15 * 2 + 1);
      },
    );

    check('what a commit acknowledged survives a reopen', ['unitOfWork', 'reopen'], async (c) => {
      const { stream, events } = before(c, 'durable');
      await c.unitOfWork.commit({ events, claim: claim('k-durable') });
      const result = c.events.next(stream, { type: 'tool.result' });
      await c.unitOfWork.commit({ events: [result], complete: completion('k-durable') });
      await c.reopen();
      await expectStream(c.ledger, stream, [...events, result], 'events after reopen');
      const answer = await c.idempotency.claim(claim('k-durable', { now: NOW + 2_000 }));
      expect(answer.status, 'the completed key after reopen').toBe('completed');
    });
  });
}
