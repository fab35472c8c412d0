import {
  assertUnitOfWork,
  CustodyError,
  type UnitOfWork,
  type UnitOfWorkResult,
  type UnitOfWorkStore,
} from '@custody/core';
import type { SqliteIdempotency, SqliteIdempotencyStore } from './sqlite-idempotency-store.js';
import { encodeBatch, type SqliteLedger, type SqliteLedgerStore } from './sqlite-ledger-store.js';

/** The unit of work over the SQLite ledger and idempotency store of one `createSqliteStores`. */
export interface SqliteUnitOfWorkStore extends UnitOfWorkStore {
  readonly ledger: SqliteLedgerStore;
  readonly idempotency: SqliteIdempotencyStore;
}

/**
 * Commits a unit's events and its idempotency change in one transaction on the shared
 * connection, through the ledger's group commit: units and appends made in the same turn of the
 * event loop share one transaction (one fsync), each in its own savepoint. A unit whose events
 * conflict is rolled back alone, its idempotency change unapplied.
 */
export class SqliteUnitOfWork implements SqliteUnitOfWorkStore {
  readonly specificationVersion = 'v1' as const;
  readonly ledger: SqliteLedger;
  readonly idempotency: SqliteIdempotency;

  constructor(ledger: SqliteLedger, idempotency: SqliteIdempotency) {
    this.ledger = ledger;
    this.idempotency = idempotency;
  }

  commit(work: UnitOfWork, options: { signal?: AbortSignal } = {}): Promise<UnitOfWorkResult> {
    try {
      if (options.signal?.aborted) {
        throw new CustodyError(
          'CUSTODY_ABORTED',
          'the unit of work was aborted before it was written; nothing was stored',
          { cause: options.signal.reason },
        );
      }
      assertUnitOfWork(work);
      // Checked and encoded before queueing: a bad unit fails here, alone, and writes nothing.
      const batch = encodeBatch(work.events);
      const change = this.idempotency.prepareChange(work);
      return this.ledger.commitWrite({ batch, alongside: change }, options).then(toResult);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}

function toResult(claim: UnitOfWorkResult['claim']): UnitOfWorkResult {
  return claim ? { claim } : {};
}
