import type { InMemoryIdempotencyStore } from './memory-idempotency-store.js';
import type { InMemoryLedgerStore } from './memory-ledger-store.js';
import {
  assertUnitOfWork,
  type UnitOfWork,
  type UnitOfWorkResult,
  type UnitOfWorkStore,
} from './unit-of-work.js';

/**
 * The unit of work over the memory ledger and idempotency stores: the events are checked and
 * stored first (a conflict stores nothing), then the idempotency change, all in one synchronous
 * step, so nothing else interleaves.
 */
export class InMemoryUnitOfWork implements UnitOfWorkStore {
  readonly specificationVersion = 'v1' as const;
  readonly ledger: InMemoryLedgerStore;
  readonly idempotency: InMemoryIdempotencyStore;

  constructor(stores: { ledger: InMemoryLedgerStore; idempotency: InMemoryIdempotencyStore }) {
    this.ledger = stores.ledger;
    this.idempotency = stores.idempotency;
  }

  async commit(work: UnitOfWork): Promise<UnitOfWorkResult> {
    return this.commitSync(work);
  }

  commitSync(work: UnitOfWork): UnitOfWorkResult {
    assertUnitOfWork(work);
    this.ledger.appendSync(work.events);
    if (work.complete) this.idempotency.completeSync(work.complete);
    if (work.release) this.idempotency.releaseSync(work.release);
    return work.claim ? { claim: this.idempotency.claimSync(work.claim) } : {};
  }
}
