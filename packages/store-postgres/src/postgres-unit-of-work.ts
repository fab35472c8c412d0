import type { UnitOfWork, UnitOfWorkResult, UnitOfWorkStore } from '@custody/core';
import { assertUnitOfWork } from '@custody/core';
import { throwIfAborted } from './database.js';
import { prepareChanges } from './idempotency-changes.js';
import type { PostgresIdempotency, PostgresIdempotencyStore } from './postgres-idempotency-store.js';
import { type PostgresLedger, type PostgresLedgerStore, prepareEvents } from './postgres-ledger-store.js';

/** The unit of work over the PostgreSQL ledger and idempotency store of one `createPostgresStores`. */
export interface PostgresUnitOfWorkStore extends UnitOfWorkStore {
  readonly ledger: PostgresLedgerStore;
  readonly idempotency: PostgresIdempotencyStore;
}

/**
 * Commits a unit's events and its idempotency change in one transaction, through the ledger's
 * own group commit: concurrent units (and plain appends) share one transaction, and, when the
 * events extend heads this instance knows and every claim takes its key, one autocommit
 * statement. A unit whose events conflict is rejected alone, its idempotency change unwritten.
 */
export class PostgresUnitOfWork implements PostgresUnitOfWorkStore {
  readonly specificationVersion = 'v1' as const;
  readonly ledger: PostgresLedger;
  readonly idempotency: PostgresIdempotency;

  constructor(ledger: PostgresLedger, idempotency: PostgresIdempotency) {
    this.ledger = ledger;
    this.idempotency = idempotency;
  }

  commit(work: UnitOfWork, options: { signal?: AbortSignal } = {}): Promise<UnitOfWorkResult> {
    try {
      throwIfAborted(options.signal, 'unit of work commit');
      assertUnitOfWork(work);
      // Checked and encoded before queueing: a bad unit fails here, alone.
      const write = { events: prepareEvents(work.events), changes: prepareChanges(work) };
      return this.ledger.commitWrite(write, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }
}
