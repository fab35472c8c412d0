import { CustodyError } from '../errors.js';
import type { LedgerStore } from '../stores/ledger-store.js';
import { StreamSealer } from './chain.js';
import type { ChainHead, EventType, LedgerEvent } from './event.js';
import type { Redactor } from './redaction-policy.js';

const RESOLVED: Promise<void> = Promise.resolve();

/** The envelope fields a recorder fills in the same way for every event of its stream. */
export interface RecorderIdentity {
  readonly stream: string;
  readonly runId: string | null;
  readonly traceId: string | null;
  readonly tenant: string;
  readonly actor: string;
}

/**
 * The single writer of one stream. Seals events synchronously, in call order (so parallel tool
 * calls of one run still form one linear chain), and writes them to the store in batches on
 * `flush`, one batch at a time. A batch the store refused stays queued, ahead of later events,
 * and is written by the next flush: nothing recorded is dropped.
 */
export class EventRecorder {
  #head: ChainHead | undefined;
  #pending: LedgerEvent[] = [];
  #writing: Promise<void> = RESOLVED;
  /** Flushes chained on #writing and not yet settled. */
  #inFlight = 0;
  #lastMs = Number.NaN;
  #lastIso = '';
  readonly #sealer: StreamSealer;

  constructor(
    private readonly store: LedgerStore,
    private readonly identity: RecorderIdentity,
    private readonly now: () => number,
    head?: ChainHead,
    private readonly redact?: Redactor,
  ) {
    this.#head = head;
    this.#sealer = new StreamSealer(identity);
  }

  /**
   * Seals the next event. Throws `CUSTODY_CANONICAL_INVALID` (recording nothing) on a bad payload.
   * A `payloadJson` given by the caller must already be redacted; a payload object is redacted here.
   */
  record(type: EventType, payload: unknown, spanId: string | null, payloadJson?: string): LedgerEvent {
    return this.#seal(this.identity.actor, type, payload, spanId, payloadJson, true);
  }

  /**
   * Records a payload the runtime built itself from values no one else holds or changes (ids,
   * codes, frozen policy decisions): the ledger keeps it as is, without a defensive copy.
   */
  recordOwned(type: EventType, payload: unknown, spanId: string | null, payloadJson?: string): LedgerEvent {
    return this.#seal(this.identity.actor, type, payload, spanId, payloadJson, false);
  }

  /** Like {@link EventRecorder.record}, for a stream several actors write (operator streams). */
  recordAs(actor: string, type: EventType, payload: unknown, spanId: string | null = null): LedgerEvent {
    return this.#seal(actor, type, payload, spanId, undefined, true);
  }

  #seal(
    actor: string,
    type: EventType,
    payload: unknown,
    spanId: string | null,
    payloadJson: string | undefined,
    copy: boolean,
  ): LedgerEvent {
    const ms = this.now();
    if (ms !== this.#lastMs) {
      // Many events share a millisecond; format each millisecond once.
      this.#lastMs = ms;
      this.#lastIso = new Date(ms).toISOString();
    }
    // Operator streams are written by several actors; each of their rare events gets its own sealer.
    const sealer =
      actor === this.identity.actor ? this.#sealer : new StreamSealer({ ...this.identity, actor });
    const event = sealer.seal(
      type,
      this.#lastIso,
      spanId,
      this.redact && payloadJson === undefined ? this.redact(payload) : payload,
      this.#head,
      payloadJson,
      copy,
    );
    this.#head = { seq: event.seq, hash: event.hash };
    this.#pending.push(event);
    return event;
  }

  /** Writes everything recorded so far; resolves when it is durable in the store. */
  flush(): Promise<void> {
    if (this.#inFlight === 0) {
      // Nothing to wait for: an empty flush, or a store that writes in this process at once.
      if (this.#pending.length === 0) return RESOLVED;
      if (this.store.appendSync) {
        const batch = this.#takePending();
        try {
          this.store.appendSync(batch);
          return RESOLVED;
        } catch (error) {
          return Promise.reject(this.#requeue(batch, error));
        }
      }
    }
    this.#inFlight++;
    const next = this.#writing.then(() => this.#writeBatch());
    this.#writing = next.then(
      () => {
        this.#inFlight--;
      },
      () => {
        this.#inFlight--;
      },
    );
    return next;
  }

  async #writeBatch(): Promise<void> {
    if (this.#pending.length === 0) return;
    const batch = this.#takePending();
    try {
      await this.store.append(batch);
    } catch (error) {
      throw this.#requeue(batch, error);
    }
  }

  #takePending(): LedgerEvent[] {
    const batch = this.#pending;
    this.#pending = [];
    return batch;
  }

  /** Puts a refused batch back ahead of what was recorded since, and says so. */
  #requeue(batch: LedgerEvent[], error: unknown): CustodyError {
    this.#pending = batch.concat(this.#pending);
    return new CustodyError(
      'CUSTODY_LEDGER_WRITE_FAILED',
      `could not write ${batch.length} event(s) of stream ${this.identity.stream} to the ledger; ` +
        'they stay queued and are written by the next flush. Check the ledger store.',
      { cause: error, details: { stream: this.identity.stream, pending: this.#pending.length } },
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
