import { InMemoryApprovalStore } from './memory-approval-store.js';
import { InMemoryIdempotencyStore } from './memory-idempotency-store.js';
import { InMemoryLedgerStore } from './memory-ledger-store.js';
import { InMemoryUnitOfWork } from './memory-unit-of-work.js';

/** The in-memory stores, typed concretely so tests can read `ledger.all()`. */
export interface MemoryStores {
  readonly ledger: InMemoryLedgerStore;
  readonly approvals: InMemoryApprovalStore;
  readonly idempotency: InMemoryIdempotencyStore;
  /** Commits events and idempotency changes of the two stores above together. */
  readonly unitOfWork: InMemoryUnitOfWork;
}

/** Fresh in-memory stores: what `createRuntime` uses for any store you don't pass. */
export function createMemoryStores(): MemoryStores {
  const ledger = new InMemoryLedgerStore();
  const idempotency = new InMemoryIdempotencyStore();
  return {
    ledger,
    approvals: new InMemoryApprovalStore(),
    idempotency,
    unitOfWork: new InMemoryUnitOfWork({ ledger, idempotency }),
  };
}
