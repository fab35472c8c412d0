import { InMemoryApprovalStore } from './memory-approval-store.js';
import { InMemoryIdempotencyStore } from './memory-idempotency-store.js';
import { InMemoryLedgerStore } from './memory-ledger-store.js';

/** The in-memory stores, typed concretely so tests can read `ledger.all()`. */
export interface MemoryStores {
  readonly ledger: InMemoryLedgerStore;
  readonly approvals: InMemoryApprovalStore;
  readonly idempotency: InMemoryIdempotencyStore;
}

/** Fresh in-memory stores: what `createRuntime` uses for any store you don't pass. */
export function createMemoryStores(): MemoryStores {
  return {
    ledger: new InMemoryLedgerStore(),
    approvals: new InMemoryApprovalStore(),
    idempotency: new InMemoryIdempotencyStore(),
  };
}
