import { describe } from 'vitest';
import { approvalChecks } from './approval-checks.js';
import { createCheckDefiner } from './conformance-harness.js';
import type { StoreConformanceOptions } from './conformance-options.js';
import { idempotencyChecks } from './idempotency-checks.js';
import { ledgerCheckpointChecks } from './ledger-checkpoint-checks.js';
import { ledgerAppendSyncChecks, ledgerChecks } from './ledger-checks.js';
import { ledgerDurabilityChecks } from './ledger-durability-checks.js';
import { ledgerErasureChecks } from './ledger-erasure-checks.js';
import { ledgerGuardChecks } from './ledger-guard-checks.js';
import { ledgerQueryChecks } from './ledger-query-checks.js';
import { ledgerRetentionChecks } from './ledger-retention-checks.js';
import { unitOfWorkChecks } from './unit-of-work-checks.js';

/**
 * Declares the Custody store conformance suite for one adapter, as vitest tests. Call it at the
 * top level of a test file. Each test gets a fresh instance from `create()` and calls its
 * `cleanup()` afterwards; the checks for stores the instance does not provide (and the
 * durability checks, without `reopen`) are reported as skipped, never as passed.
 *
 * Covers the ledger (append and read order, per-stream seq from 0 without gaps, `head()`,
 * idempotent re-append, conflicts and racing writers, atomic batches, unicode and 1 MB payload
 * fidelity checked with `verifyLedger`, every `LedgerQuery` filter (`outcome` once core's
 * `matchesLedgerQuery` has it), cursor pagination, and the optional `erasePayload`, `heads`,
 * `appendCheckpoint`, `listCheckpoints` and `deleteStreams`, with core's `createLedger().prune`
 * and legal holds end to end; the guards where a deletion happens — `deleteStreams` and
 * `erasePayload` refuse a held run or tenant (`CUSTODY_LEGAL_HOLD`) and anything no
 * `ledger.pruned` / `ledger.redacted` record names (`CUSTODY_STORE_ERROR`), and records forged
 * around them are caught by `verifyLedger` with the keys), the idempotency store (claim, in progress, conflict, completion,
 * lease and ttl expiry, release, tenant scoping) and the approval store (create, get, list,
 * duplicate ids, isolation from caller mutation), plus durability across `reopen()`.
 *
 * @example
 * ```ts
 * // test/conformance.test.ts
 * import { describeStoreConformance } from '@custody/store-conformance';
 * import { createMyStores } from '../src/index.js';
 *
 * describeStoreConformance('my-store', {
 *   create: async () => {
 *     const dir = await mkdtemp(join(tmpdir(), 'custody-'));
 *     let stores = createMyStores({ path: join(dir, 'ledger.db') });
 *     return {
 *       stores,
 *       reopen: async () => {
 *         await stores.close();
 *         stores = createMyStores({ path: join(dir, 'ledger.db') });
 *         return stores;
 *       },
 *       cleanup: async () => {
 *         await stores.close();
 *         await rm(dir, { recursive: true, force: true });
 *       },
 *     };
 *   },
 * });
 * ```
 */
export function describeStoreConformance(name: string, options: StoreConformanceOptions): void {
  if (typeof options?.create !== 'function') {
    throw new TypeError(
      `[custody] describeStoreConformance("${name}") needs options.create, a function returning a fresh instance; got ${typeof options?.create}`,
    );
  }
  const check = createCheckDefiner(options);
  describe(`${name}: Custody store conformance`, () => {
    ledgerChecks(check);
    ledgerAppendSyncChecks(check);
    ledgerQueryChecks(check);
    ledgerErasureChecks(check);
    ledgerCheckpointChecks(check);
    ledgerRetentionChecks(check);
    ledgerGuardChecks(check);
    ledgerDurabilityChecks(check);
    idempotencyChecks(check);
    unitOfWorkChecks(check);
    approvalChecks(check);
  });
}
