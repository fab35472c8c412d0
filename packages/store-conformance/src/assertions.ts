import { CustodyError, type LedgerEvent, type LedgerStore, readAll, verifyLedger } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { expect } from 'vitest';

/**
 * Asserts that `actual` (read from the store) is exactly `expected` (what was appended): same
 * events in the same order, deep-equal, with byte-identical canonical payloads, and that the
 * whole sequence verifies.
 */
export function expectSameEvents(
  actual: readonly LedgerEvent[],
  expected: readonly LedgerEvent[],
  what: string,
): void {
  expect(
    actual.map((event) => event.id),
    `${what}: wrong events or order`,
  ).toEqual(expected.map((event) => event.id));
  for (let i = 0; i < expected.length; i++) {
    const read = actual[i]!;
    const appended = expected[i]!;
    expect(read, `${what}: event ${appended.id} differs from what was appended`).toEqual(appended);
    if (appended.payload !== null) {
      expect(
        canonicalize(read.payload) === canonicalize(appended.payload),
        `${what}: event ${appended.id} payload is not byte-identical after the round trip`,
      ).toBe(true);
    }
  }
}

/** Asserts that `events` verify with core's `verifyLedger` and returns the verification. */
export function expectVerifies(events: readonly LedgerEvent[], what: string) {
  const result = verifyLedger(events);
  expect(
    result.ok ? 'ok' : `${result.problem.code}: ${result.problem.message}`,
    `${what}: the chain must verify`,
  ).toBe('ok');
  if (!result.ok) throw new Error('unreachable');
  return result;
}

/** Reads one stream in full and asserts it is exactly `expected` and verifies. */
export async function expectStream(
  ledger: LedgerStore,
  stream: string,
  expected: readonly LedgerEvent[],
  what: string,
): Promise<void> {
  const stored = await readAll(ledger, { stream });
  expectSameEvents(stored, expected, what);
  expectVerifies(stored, what);
  const head = await ledger.head(stream);
  const last = expected.at(-1);
  expect(head, `${what}: head() of ${stream}`).toEqual(last ? { seq: last.seq, hash: last.hash } : undefined);
}

/** Asserts that a settled `append` was rejected with `CUSTODY_LEDGER_CONFLICT`. */
export function expectConflict(result: PromiseSettledResult<unknown>, what: string): void {
  expect(result.status, `${what}: expected CUSTODY_LEDGER_CONFLICT, but the append succeeded`).toBe(
    'rejected',
  );
  const reason = (result as PromiseRejectedResult).reason;
  expect(CustodyError.isInstance(reason), `${what}: expected a CustodyError, got ${String(reason)}`).toBe(
    true,
  );
  expect((reason as CustodyError).code, `${what}: wrong error code (${String(reason)})`).toBe(
    'CUSTODY_LEDGER_CONFLICT',
  );
}

/** Settles `promise`, for checks that inspect the rejection. */
export function settle<T>(promise: Promise<T>): Promise<PromiseSettledResult<T>> {
  return promise.then(
    (value) => ({ status: 'fulfilled', value }),
    (reason: unknown) => ({ status: 'rejected', reason }),
  );
}
