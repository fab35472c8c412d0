import type { ApprovalStore } from './approval-store.js';
import type { IdempotencyStore } from './idempotency-store.js';
import type { LedgerStore } from './ledger-store.js';
import type { UnitOfWorkStore } from './unit-of-work.js';

/** The stores a runtime writes to. Pass any subset to `createRuntime`; the rest are in memory. */
export interface RuntimeStores {
  readonly ledger: LedgerStore;
  readonly approvals: ApprovalStore;
  readonly idempotency: IdempotencyStore;
  /**
   * Commits ledger events and idempotency changes in one transaction; used only when it covers
   * exactly the `ledger` and `idempotency` above (`createSqliteStores` and `createPostgresStores`
   * return one).
   */
  readonly unitOfWork?: UnitOfWorkStore;
}
