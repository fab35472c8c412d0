import type { ApprovalStore } from './approval-store.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { LedgerStore } from './ledger-store.js';

/** The stores a runtime writes to. Pass any subset to `createRuntime`; the rest are in memory. */
export interface RuntimeStores {
  readonly ledger: LedgerStore;
  readonly approvals: ApprovalStore;
  readonly idempotency: IdempotencyStore;
}
