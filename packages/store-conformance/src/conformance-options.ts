import type { ApprovalStore, IdempotencyStore, LedgerStore, UnitOfWorkStore } from '@custody/core';

/**
 * The stores of the adapter under test. Any subset: the suite runs the checks for the stores
 * present and reports the others as skipped, so a ledger-only adapter certifies its ledger.
 */
export interface StoreConformanceStores {
  readonly ledger?: LedgerStore | undefined;
  readonly approvals?: ApprovalStore | undefined;
  readonly idempotency?: IdempotencyStore | undefined;
  /** The unit of work over `ledger` and `idempotency` (its own fields must be those two stores). */
  readonly unitOfWork?: UnitOfWorkStore | undefined;
}

/** One fresh instance of the adapter under test, as returned by {@link StoreConformanceOptions.create}. */
export interface StoreConformanceInstance {
  /** Empty stores: nothing written by an earlier test may be visible through them. */
  readonly stores: StoreConformanceStores;
  /**
   * Closes the current stores and opens new ones over the same data, as a process restart would.
   * Provide it for a durable adapter: it enables the durability checks (they are skipped
   * without it). The suite stops using the old stores once this is called.
   */
  readonly reopen?: () => Promise<StoreConformanceStores>;
  /**
   * Called after every test, passed or failed: closes whatever is open (including stores
   * returned by `reopen`) and deletes the data (temp file, schema, key prefix).
   */
  readonly cleanup?: () => Promise<void>;
}

/** Options of {@link describeStoreConformance}. */
export interface StoreConformanceOptions {
  /**
   * Builds a fresh, empty instance of the adapter. Called once per test, so tests never see
   * each other's data and may run in any order.
   */
  create(): Promise<StoreConformanceInstance>;
  /** Timeout of each test in milliseconds (default 30 000; the 1 MB payload check needs room). */
  timeoutMs?: number;
  /**
   * What the adapter claims to provide. Without it, capabilities are detected per test and checks
   * for missing ones are reported as skipped. With it, only checks within the declared
   * capabilities are defined at all (so a CI run shows no skips), and a declared capability the
   * adapter turns out not to have fails the check.
   */
  capabilities?: readonly StoreCapability[];
}

/** Something a check needs from the adapter under test. */
export type StoreCapability =
  | 'ledger'
  | 'approvals'
  | 'idempotency'
  | 'unitOfWork'
  | 'reopen'
  | 'erasePayload'
  | 'heads'
  | 'checkpoints'
  | 'deleteStreams'
  | 'appendSync';
