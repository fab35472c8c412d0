import { CustodyError, invalidArgument } from '../errors.js';
import { StreamSealer } from '../ledger/chain.js';
import type { ChainHead, EventType, LedgerEvent } from '../ledger/event.js';
import type { Redactor } from '../ledger/redaction-policy.js';
import type { IdempotencyClaimRequest, IdempotencyStore } from '../stores/idempotency-store.js';
import type { LedgerStore } from '../stores/ledger-store.js';
import type {
  IdempotencyCompletion,
  IdempotencyRelease,
  UnitOfWork,
  UnitOfWorkResult,
  UnitOfWorkStore,
} from '../stores/unit-of-work.js';

const RESOLVED: Promise<UnitOfWorkResult> = Promise.resolve({});

/** The envelope fields a recorder fills in the same way for every event of its stream. */
export interface RecorderIdentity {
  readonly stream: string;
  readonly runId: string | null;
  readonly traceId: string | null;
  readonly tenant: string;
  readonly actor: string;
}

/** The stores a recorder writes to; with a unit of work over both, each commit is one transaction. */
export interface RecorderStores {
  readonly ledger: LedgerStore;
  /** Needed for commits that claim, complete or release a key. */
  readonly idempotency?: IdempotencyStore;
  readonly unitOfWork?: UnitOfWorkStore;
}

/** What a commit writes beside the events recorded since the last one. */
export interface RecorderWork {
  readonly claim?: IdempotencyClaimRequest;
  readonly complete?: IdempotencyCompletion;
  readonly release?: IdempotencyRelease;
  /**
   * Called, at once, when the idempotency store fails the completion on its own (stores without
   * a shared unit of work): the call's outcome stands, and what is recorded here joins the commit.
   */
  readonly onCompleteFailed?: (error: unknown) => void;
}

/** Options of {@link EventRecorder}. */
export interface EventRecorderOptions {
  readonly stores: RecorderStores;
  readonly identity: RecorderIdentity;
  /** Epoch milliseconds, for each event's timestamp. */
  readonly now: () => number;
  /** The stream's head, when it already has events. */
  readonly head?: ChainHead;
  /** Masks secrets in every payload before it is sealed. */
  readonly redact?: Redactor;
}

/** An idempotency change whose commit failed: it is committed again by the next one. */
type DeferredChange = Pick<UnitOfWork, 'complete' | 'release'>;

/**
 * The single writer of one stream. Seals events synchronously, in call order (so parallel tool
 * calls of one run still form one linear chain), and commits them with the call's idempotency
 * change, one commit after the other. With a unit of work over the ledger and idempotency stores
 * a commit is one transaction; otherwise each store is written on its own. Events a commit could
 * not write stay queued, ahead of later ones, and go with the next commit: nothing recorded is
 * dropped.
 */
export class EventRecorder {
  #head: ChainHead | undefined;
  #pending: LedgerEvent[] = [];
  #deferred: DeferredChange[] = [];
  #writing: Promise<unknown> = RESOLVED;
  readonly #stores: RecorderStores;
  readonly #unitOfWork: UnitOfWorkStore | undefined;
  readonly #identity: RecorderIdentity;
  readonly #now: () => number;
  readonly #redact: Redactor | undefined;
  readonly #sealer: StreamSealer;

  constructor(options: EventRecorderOptions) {
    const { stores, identity } = options;
    this.#stores = stores;
    const unitOfWork = stores.unitOfWork;
    // Only a unit of work over these very stores may commit for them.
    this.#unitOfWork =
      unitOfWork && unitOfWork.ledger === stores.ledger && unitOfWork.idempotency === stores.idempotency
        ? unitOfWork
        : undefined;
    this.#identity = identity;
    this.#now = options.now;
    this.#head = options.head;
    this.#redact = options.redact;
    this.#sealer = new StreamSealer(identity);
  }

  /** Seals the next event. Throws `CUSTODY_CANONICAL_INVALID` (recording nothing) on a bad payload. */
  record(type: EventType, payload: unknown, spanId: string | null = null): LedgerEvent {
    return this.#seal(this.#sealer, type, payload, spanId);
  }

  /** Like {@link EventRecorder.record}, for a stream several actors write (operator streams). */
  recordAs(actor: string, type: EventType, payload: unknown, spanId: string | null = null): LedgerEvent {
    const sealer =
      actor === this.#identity.actor ? this.#sealer : new StreamSealer({ ...this.#identity, actor });
    return this.#seal(sealer, type, payload, spanId);
  }

  #seal(sealer: StreamSealer, type: EventType, payload: unknown, spanId: string | null): LedgerEvent {
    const event = sealer.seal({
      type,
      ts: new Date(this.#now()).toISOString(),
      spanId,
      payload: this.#redact ? this.#redact(payload) : payload,
      prev: this.#head,
    });
    this.#head = { seq: event.seq, hash: event.hash };
    this.#pending.push(event);
    return event;
  }

  /** Writes everything recorded so far; resolves when it is durable in the store. */
  async flush(): Promise<void> {
    await this.commit({});
  }

  /**
   * Writes everything recorded so far together with `work`, after every earlier commit of this
   * recorder. Rejects with `CUSTODY_LEDGER_WRITE_FAILED` when the events could not be written
   * (they stay queued; a claim taken for this commit is given back), or `CUSTODY_STORE_ERROR`
   * when the idempotency store failed the claim on its own (nothing was written).
   */
  commit(work: RecorderWork): Promise<UnitOfWorkResult> {
    const next = this.#writing.then(
      () => this.#write(work),
      () => this.#write(work),
    );
    this.#writing = next.catch(() => undefined);
    return next;
  }

  async #write(work: RecorderWork): Promise<UnitOfWorkResult> {
    const unitOfWork = this.#unitOfWork;
    if (!unitOfWork) return this.#writeStoreByStore(work);
    // A change whose transaction failed goes first, with the events it belonged to.
    while (this.#deferred.length > 0) {
      const events = this.#takePending();
      try {
        await unitOfWork.commit({ ...this.#deferred[0], events });
      } catch (error) {
        throw this.#requeue(events, error);
      }
      this.#deferred.shift();
    }
    const { claim, complete, release } = work;
    return this.#commitUnit(unitOfWork, { events: this.#takePending(), claim, complete, release });
  }

  async #commitUnit(unitOfWork: UnitOfWorkStore, unit: UnitOfWork): Promise<UnitOfWorkResult> {
    if (unit.events.length === 0 && !unit.claim && !unit.complete && !unit.release) return {};
    try {
      return await unitOfWork.commit(unit);
    } catch (error) {
      if (unit.complete || unit.release)
        this.#deferred.push({ complete: unit.complete, release: unit.release });
      throw this.#requeue(unit.events, error);
    }
  }

  /** Stores of different engines: the claim, then the completion or release, then the events. */
  async #writeStoreByStore(work: RecorderWork): Promise<UnitOfWorkResult> {
    const { ledger, idempotency } = this.#stores;
    if (!idempotency && (work.claim || work.complete || work.release)) {
      throw invalidArgument(
        'this recorder has no idempotency store, so it cannot claim, complete or release a key',
      );
    }
    let claimed: UnitOfWorkResult = {};
    if (work.claim) {
      try {
        claimed = { claim: await idempotency!.claim(work.claim) };
      } catch (error) {
        throw new CustodyError(
          'CUSTODY_STORE_ERROR',
          `the idempotency store could not claim key "${work.claim.key}"; nothing was written`,
          { cause: error },
        );
      }
    }
    if (work.complete) {
      try {
        await idempotency!.complete(work.complete);
      } catch (error) {
        work.onCompleteFailed?.(error);
      }
    }
    if (work.release) {
      await idempotency!.release(work.release).catch(() => {
        /* the lease expires on its own */
      });
    }
    const events = this.#takePending();
    if (events.length === 0) return claimed;
    try {
      await ledger.append(events);
    } catch (error) {
      const failure = this.#requeue(events, error);
      if (work.claim && claimed.claim?.status === 'claimed') {
        const { tenant, key, callId } = work.claim;
        await idempotency!.release({ tenant, key, callId }).catch(() => {
          /* the lease expires on its own */
        });
      }
      throw failure;
    }
    return claimed;
  }

  #takePending(): LedgerEvent[] {
    const batch = this.#pending;
    this.#pending = [];
    return batch;
  }

  /** Puts refused events back ahead of what was recorded since, and says so. */
  #requeue(batch: readonly LedgerEvent[], error: unknown): CustodyError {
    this.#pending = batch.concat(this.#pending);
    const stream = this.#identity.stream;
    return new CustodyError(
      'CUSTODY_LEDGER_WRITE_FAILED',
      `could not write ${batch.length} event(s) of stream ${stream} to the ledger; ` +
        'they stay queued and are written by the next flush. Check the ledger store.',
      { cause: error, details: { stream, pending: this.#pending.length } },
    );
  }

  /** Events recorded but not yet written. */
  get pendingCount(): number {
    return this.#pending.length;
  }

  get head(): ChainHead | undefined {
    return this.#head;
  }
}
