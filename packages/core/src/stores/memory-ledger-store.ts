import { CustodyError, describeValue, invalidArgument } from '../errors.js';
import type { LedgerCheckpoint } from '../ledger/checkpoint.js';
import { checkPayloadErasure, checkStreamDeletion } from '../ledger/deletion-guards.js';
import { type ChainHead, GENESIS_HASH, type LedgerEvent } from '../ledger/event.js';
import { matchesLedgerQuery } from '../ledger/ledger-query.js';
import type { LedgerPage, LedgerQuery, LedgerStore } from './ledger-store.js';

const DEFAULT_PAGE = 1000;

/**
 * The zero-config ledger: events in an array, heads in a map. Keeps the full {@link LedgerStore}
 * contract (atomic batches, no forks, idempotent re-append), so tests against it mean something.
 * Nothing survives the process; use `@custody/store-sqlite` for a durable ledger.
 */
export class InMemoryLedgerStore implements LedgerStore {
  readonly specificationVersion = 'v1' as const;
  readonly #events: LedgerEvent[] = [];
  /** Each stream's events, indexed by seq: the head is the last one. */
  readonly #streams = new Map<string, LedgerEvent[]>();

  async append(events: readonly LedgerEvent[]): Promise<void> {
    this.appendSync(events);
  }

  /** Synchronous append for callers that hold the store directly (tests, benchmarks). */
  appendSync(events: readonly LedgerEvent[]): void {
    // Validate the whole batch before storing any of it: all or nothing.
    const fresh: LedgerEvent[] = [];
    let batchHeads: Map<string, ChainHead> | undefined;
    for (const event of events) {
      const stored = this.#streams.get(event.stream);
      const existing = stored?.[event.seq];
      if (existing && existing.id === event.id) {
        if (existing.hash === event.hash) continue;
        throw conflict(event, `event ${event.id} is already stored with another hash`);
      }
      const last = stored?.[stored.length - 1];
      const head = batchHeads?.get(event.stream) ?? (last && { seq: last.seq, hash: last.hash });
      const expectedSeq = head ? head.seq + 1 : 0;
      const expectedPrev = head ? head.hash : GENESIS_HASH;
      if (event.seq !== expectedSeq || event.prevHash !== expectedPrev) {
        throw conflict(
          event,
          `event ${event.id} does not extend stream ${event.stream}: expected seq ${expectedSeq}, got ${event.seq}`,
        );
      }
      if (events.length > 1) {
        batchHeads ??= new Map();
        batchHeads.set(event.stream, { seq: event.seq, hash: event.hash });
      }
      fresh.push(event);
    }
    for (const event of fresh) {
      this.#events.push(event);
      let stream = this.#streams.get(event.stream);
      if (!stream) {
        stream = [];
        this.#streams.set(event.stream, stream);
      }
      stream.push(event);
    }
  }

  /** Erases after the guards of the port: no legal hold, and a `ledger.redacted` record naming the event. */
  async erasePayload(eventId: string): Promise<boolean> {
    const index = this.#events.findIndex((event) => event.id === eventId);
    if (index < 0) return false;
    const event = this.#events[index]!;
    if (event.payload === null) return true;
    const refusal = checkPayloadErasure(event, this.#streams.get(event.stream)!, this.#operatorEvents(event));
    if (refusal) throw refusal;
    const erased: LedgerEvent = { ...event, payload: null, salt: null };
    this.#events[index] = erased;
    this.#streams.get(event.stream)![event.seq] = erased;
    return true;
  }

  readonly #checkpoints: LedgerCheckpoint[] = [];

  /**
   * Deletes whole streams after the guards of the port, checked for every stream before any is
   * deleted: no legal hold on its run or tenant, and a `ledger.pruned` record naming its head.
   */
  async deleteStreams(streams: readonly string[]): Promise<number> {
    if (!Array.isArray(streams) || !streams.every((stream) => typeof stream === 'string')) {
      throw invalidArgument(`deleteStreams expects an array of stream names, got ${describeValue(streams)}`);
    }
    const doomed = new Set(streams.filter((stream) => this.#streams.has(stream)));
    for (const stream of doomed) {
      const events = this.#streams.get(stream)!;
      const refusal = checkStreamDeletion(events, this.#operatorEvents(events[0]!));
      if (refusal) throw refusal;
    }
    let deleted = 0;
    for (let i = this.#events.length - 1; i >= 0; i--) {
      if (doomed.has(this.#events[i]!.stream)) {
        this.#events.splice(i, 1);
        deleted++;
      }
    }
    for (const stream of doomed) this.#streams.delete(stream);
    return deleted;
  }

  /** The events of the operator stream of `event`'s tenant, where holds and prune records live. */
  #operatorEvents(event: LedgerEvent): LedgerEvent[] {
    return this.#streams.get(`operator:${event.tenant}`) ?? [];
  }

  async appendCheckpoint(checkpoint: LedgerCheckpoint): Promise<void> {
    this.#checkpoints.push(structuredClone(checkpoint));
  }

  async listCheckpoints(): Promise<LedgerCheckpoint[]> {
    return structuredClone(this.#checkpoints);
  }

  async heads(): Promise<Record<string, ChainHead>> {
    const heads: Record<string, ChainHead> = {};
    for (const [stream, events] of this.#streams) {
      const last = events.at(-1);
      if (last) heads[stream] = { seq: last.seq, hash: last.hash };
    }
    return heads;
  }

  async head(stream: string): Promise<ChainHead | undefined> {
    const last = this.#streams.get(stream)?.at(-1);
    return last && { seq: last.seq, hash: last.hash };
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
