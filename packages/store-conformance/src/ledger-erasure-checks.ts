import { type LedgerEvent, readAll } from '@custody/core';
import { eventToolName, matchesLedgerQuery } from '@custody/core/ledger';
import { expect } from 'vitest';
import { expectSameEvents, expectStream, expectVerifies } from './assertions.js';
import type { CheckContext, DefineCheck } from './conformance-harness.js';
import { appendRedactionRecord } from './operator-records.js';

/**
 * Redacts `target` the way core's `createLedger().redact` does: first a `ledger.redacted` record in
 * the same stream naming it and its payload hash (unsigned: stores check no signature, and
 * verification without keys requires only the record), then `erasePayload`.
 * Returns the record.
 */
export async function redact(c: CheckContext, target: LedgerEvent): Promise<LedgerEvent> {
  const record = await appendRedactionRecord(c, target);
  expect(await c.ledger.erasePayload!(target.id), `erasePayload(${target.id})`).toBe(true);
  return record;
}

/**
 * Asserts the stream of `target` is `appended` with only `target`'s payload and salt erased: the
 * envelope and head unchanged, the chain verifying with one redaction, and the event no longer
 * matching a `tool` filter (the tool name lived in the erased payload).
 */
export async function expectErased(
  c: CheckContext,
  appended: readonly LedgerEvent[],
  target: LedgerEvent,
): Promise<void> {
  const expected = appended.map((event) =>
    event.id === target.id ? { ...event, payload: null, salt: null } : event,
  );
  const stored = await readAll(c.ledger, { stream: target.stream });
  expectSameEvents(stored, expected, 'after erasure');
  const verification = expectVerifies(stored, 'after erasure');
  expect(verification.redacted, 'redacted count').toBe(1);
  const tool = eventToolName(target);
  if (tool !== undefined) {
    const query = { stream: target.stream, tool };
    expectSameEvents(
      await readAll(c.ledger, query),
      expected.filter((event) => matchesLedgerQuery(event, query)),
      `read(${JSON.stringify(query)}) after erasure`,
    );
  }
  const last = appended.at(-1)!;
  expect(await c.ledger.head(target.stream), 'head() after erasure').toEqual({
    seq: last.seq,
    hash: last.hash,
  });
}

/** The optional `erasePayload` capability. */
export function ledgerErasureChecks(check: DefineCheck): void {
  check.section('ledger: erasure (optional erasePayload)', () => {
    check(
      'erasePayload nulls payload and salt, keeps the envelope, and the chain still verifies',
      ['ledger', 'erasePayload'],
      async (c) => {
        const stream = c.events.stream('run');
        const chain = c.events.chain(stream, 3, (i) => ({
          payload: { tool: 'stripe.refund', secret: `card-${i}`, note: 'ünïcödé 😀' },
        }));
        await c.ledger.append(chain);
        const record = await redact(c, chain[1]!);
        await expectErased(c, [...chain, record], chain[1]!);
      },
    );

    check(
      'erasePayload resolves false for an unknown id and leaves other streams alone',
      ['ledger', 'erasePayload'],
      async (c) => {
        const a = c.events.chain(c.events.stream('a'), 2);
        const b = c.events.chain(c.events.stream('b'), 2);
        await c.ledger.append([...a, ...b]);
        expect(await c.ledger.erasePayload!(`${a[0]!.stream}:7`), 'erasePayload of an unknown id').toBe(
          false,
        );
        const record = await redact(c, a[0]!);
        await expectErased(c, [...a, record], a[0]!);
        await expectStream(c.ledger, b[0]!.stream, b, 'the other stream');
      },
    );

    check(
      'erasing twice is harmless, and re-appending an erased event does not restore its payload',
      ['ledger', 'erasePayload'],
      async (c) => {
        const stream = c.events.stream('run');
        const chain = c.events.chain(stream, 2);
        await c.ledger.append(chain);
        const record = await redact(c, chain[0]!);
        expect(await c.ledger.erasePayload!(chain[0]!.id), 'a second erasePayload').toBe(true);
        await c.ledger.append(chain);
        await expectErased(c, [...chain, record], chain[0]!);
        const next = c.events.next(stream);
        await c.ledger.append([next]);
        await expectErased(c, [...chain, record, next], chain[0]!);
      },
    );
  });
}
