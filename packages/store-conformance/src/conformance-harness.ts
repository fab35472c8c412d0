import type { ApprovalStore, IdempotencyStore, LedgerStore, UnitOfWorkStore } from '@custody/core';
import { describe, it } from 'vitest';
import type {
  StoreCapability,
  StoreConformanceOptions,
  StoreConformanceStores,
} from './conformance-options.js';
import { EventFactory } from './fixtures.js';

/** What a check needs from the adapter; a check whose needs are not met is skipped. */
export type CheckNeed = StoreCapability;

/** The adapter instance as one check sees it. After `reopen()` the store fields point at the new stores. */
export interface CheckContext {
  ledger: LedgerStore;
  approvals: ApprovalStore;
  idempotency: IdempotencyStore;
  unitOfWork: UnitOfWorkStore;
  /** Closes the stores and opens them again over the same data. */
  reopen(): Promise<void>;
  events: EventFactory;
  /** Ends the check as skipped, with the reason (for checks that depend on something outside the adapter). */
  skip(reason: string): never;
}

/** Declares one check: a vitest test run against a fresh instance, skipped when a need is missing. */
export type DefineCheck = ((
  name: string,
  needs: readonly CheckNeed[],
  body: (context: CheckContext) => Promise<void>,
) => void) & {
  /**
   * A vitest `describe` for a group of checks, left out entirely when none of its checks is
   * defined (declared capabilities exclude them all), since vitest refuses an empty suite.
   */
  section(title: string, body: () => void): void;
};

const NEED_TEXT: Record<CheckNeed, string> = {
  ledger: 'a ledger store',
  approvals: 'an approval store',
  idempotency: 'an idempotency store',
  unitOfWork: 'a unit of work over its ledger and idempotency stores',
  reopen: 'reopen() (durability checks)',
  erasePayload: 'ledger.erasePayload (optional capability)',
  heads: 'ledger.heads (optional capability)',
  checkpoints: 'ledger.appendCheckpoint and ledger.listCheckpoints (optional capabilities)',
  deleteStreams: 'ledger.deleteStreams (optional capability, for retention)',
  appendSync: 'ledger.appendSync (optional capability of in-process stores)',
};

const DEFAULT_TIMEOUT_MS = 30_000;

let instanceCounter = 0;

/** Builds the `check` function every section of the suite uses. */
export function createCheckDefiner(options: StoreConformanceOptions): DefineCheck {
  const timeout = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const declared = options.capabilities ? new Set(options.capabilities) : undefined;
  // While a section is only being counted, checks are tallied instead of defined.
  let counting: { defined: number } | undefined;
  const check = (
    name: string,
    needs: readonly CheckNeed[],
    body: (context: CheckContext) => Promise<void>,
  ) => {
    // With declared capabilities, a check outside them is not defined at all.
    if (declared && !needs.every((need) => declared.has(need))) return;
    if (counting) {
      counting.defined++;
      return;
    }
    it(name, { timeout }, async (test) => {
      const instance = await options.create();
      try {
        let stores = instance.stores;
        const missing = needs.find((need) => !provides(need, stores, instance.reopen !== undefined));
        if (missing && declared) {
          throw new Error(
            `the adapter declares "${missing}" among its capabilities but provides no ${NEED_TEXT[missing]}`,
          );
        }
        if (missing) test.skip(`the adapter provides no ${NEED_TEXT[missing]}`);
        const context: CheckContext = {
          ledger: stores.ledger as LedgerStore,
          approvals: stores.approvals as ApprovalStore,
          idempotency: stores.idempotency as IdempotencyStore,
          unitOfWork: stores.unitOfWork as UnitOfWorkStore,
          reopen: async () => {
            stores = await instance.reopen!();
            for (const need of needs) {
              if (!provides(need, stores, true)) {
                throw new Error(
                  `reopen() returned stores without ${NEED_TEXT[need]}, which create() provided`,
                );
              }
            }
            context.ledger = stores.ledger as LedgerStore;
            context.approvals = stores.approvals as ApprovalStore;
            context.idempotency = stores.idempotency as IdempotencyStore;
            context.unitOfWork = stores.unitOfWork as UnitOfWorkStore;
          },
          events: new EventFactory(`c${++instanceCounter}-`),
          skip: (reason) => test.skip(reason),
        };
        await body(context);
      } finally {
        await instance.cleanup?.();
      }
    });
  };
  const section = (title: string, body: () => void) => {
    if (declared) {
      const tally = { defined: 0 };
      counting = tally;
      try {
        body();
      } finally {
        counting = undefined;
      }
      if (tally.defined === 0) return;
    }
    describe(title, body);
  };
  return Object.assign(check, { section });
}

function provides(need: CheckNeed, stores: StoreConformanceStores, canReopen: boolean): boolean {
  switch (need) {
    case 'reopen':
      return canReopen;
    case 'erasePayload':
      return typeof stores.ledger?.erasePayload === 'function';
    case 'heads':
      return typeof stores.ledger?.heads === 'function';
    case 'deleteStreams':
      return typeof stores.ledger?.deleteStreams === 'function';
    case 'appendSync':
      return typeof stores.ledger?.appendSync === 'function';
    case 'checkpoints':
      return (
        typeof stores.ledger?.appendCheckpoint === 'function' &&
        typeof stores.ledger.listCheckpoints === 'function'
      );
    default:
      return stores[need] !== undefined;
  }
}
