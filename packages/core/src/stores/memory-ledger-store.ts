import { CustodyError, invalidArgument } from '../errors.js';
import { type ChainHead, GENESIS_HASH, type LedgerEvent } from '../ledger/event.js';
import type { LedgerPage, LedgerQuery, LedgerStore } from './ledger-store.js';
import { matchesLedgerQuery } from './ledger-store.js';

const DEFAULT_PAGE = 1000;

/**
 * The zero-config ledger: events in an array, heads in a map. Keeps the full {@link LedgerStore}
 * contract (atomic batches, no forks, idempotent re-append), so tests against it mean something.
 * Nothing survives the process; use `@custody/store-sqlite` for a durable ledger.
 */
export class InMemoryLedgerStore implements LedgerStore {
  readonly specificationVersion = 'v1' as const;
  readonly #events: LedgerEvent[] = [];
  readonly #heads = new Map<string, ChainHead>();
  readonly #byId = new Map<string, LedgerEvent>();

  async append(events: readonly LedgerEvent[]): Promise<void> {
    this.appendSync(events);
  }

  /** Synchronous append for callers that hold the store directly (tests, benchmarks). */
  appendSync(events: readonly LedgerEvent[]): void {
    // Validate the whole batch against a scratch copy of the heads first: all or nothing.
    const heads = new Map<string, ChainHead>();
    const fresh: LedgerEvent[] = [];
    for (const event of events) {
      const existing = this.#byId.get(event.id);
      if (existing) {
        if (existing.hash === event.hash) continue;
        throw conflict(event, `event ${event.id} is already stored with another hash`);
      }
      const head = heads.get(event.stream) ?? this.#heads.get(event.stream);
      const expectedSeq = head ? head.seq + 1 : 0;
      const expectedPrev = head ? head.hash : GENESIS_HASH;
      if (event.seq !== expectedSeq || event.prevHash !== expectedPrev) {
        throw conflict(
          event,
          `event ${event.id} does not extend stream ${event.stream}: expected seq ${expectedSeq}, got ${event.seq}`,
        );
      }
      heads.set(event.stream, { seq: event.seq, hash: event.hash });
      fresh.push(event);
    }
    for (const event of fresh) {
      this.#events.push(event);
      this.#byId.set(event.id, event);
    }
    for (const [stream, head] of heads) this.#heads.set(stream, head);
  }

  async erasePayload(eventId: string): Promise<boolean> {
    const event = this.#byId.get(eventId);
    if (!event) return false;
    const erased: LedgerEvent = { ...event, payload: null, salt: null };
    this.#byId.set(eventId, erased);
    this.#events[this.#events.indexOf(event)] = erased;
    return true;
  }

  async head(stream: string): Promise<ChainHead | undefined> {
    return this.#heads.get(stream);
  }

  async read(query: LedgerQuery = {}): Promise<LedgerPage> {
    const limit = query.limit ?? DEFAULT_PAGE;
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw invalidArgument(`ledger query limit must be a positive integer, got ${String(limit)}`);
    }
    let start = 0;
    if (query.cursor !== undefined) {
      start = Number(query.cursor);
      if (!Number.isSafeInteger(start) || start < 0) {
        throw invalidArgument(`ledger cursor ${JSON.stringify(query.cursor)} is not one this store issued`);
      }
    }
    const events: LedgerEvent[] = [];
    for (let i = start; i < this.#events.length; i++) {
      const event = this.#events[i]!;
      if (!matchesLedgerQuery(event, query)) continue;
      if (events.length === limit) return { events, nextCursor: String(i) };
      events.push(event);
    }
    return { events };
  }

  /** Every stored event in append order (a copy). */
  all(): LedgerEvent[] {
    return [...this.#events];
  }

  /** Number of stored events. */
  get size(): number {
    return this.#events.length;
  }
}

function conflict(event: LedgerEvent, message: string): CustodyError {
  return new CustodyError('CUSTODY_LEDGER_CONFLICT', message, {
    details: { stream: event.stream, seq: event.seq, eventId: event.id },
  });
}
