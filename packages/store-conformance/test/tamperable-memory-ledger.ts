import {
  type ChainHead,
  InMemoryLedgerStore,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerPage,
  type LedgerQuery,
} from '@custody/core';
import { matchesLedgerQuery } from '@custody/core/ledger';
import type { LedgerTamper } from '../src/index.js';

/**
 * Core's in-memory ledger, plus raw access for the tamper matrix (tests only). The first raw
 * change copies the stored events (and checkpoints) out; from then on reads, heads and checkpoint
 * listings come from that copy as the tampering left it, exactly as a SQL store would read rows
 * someone edited behind its back.
 */
export class TamperableMemoryLedger extends InMemoryLedgerStore {
  #events: LedgerEvent[] | undefined;
  #checkpoints: LedgerCheckpoint[] | undefined;

  readonly tamper: LedgerTamper = {
    rawUpdate: async (eventId, patch) => {
      const events = this.#raw();
      const index = this.#indexOf(eventId);
      events[index] = { ...events[index]!, ...patch };
    },
    rawDelete: async (eventId) => {
      this.#raw().splice(this.#indexOf(eventId), 1);
    },
    rawInsert: async (event) => {
      this.#raw().push(structuredClone(event));
    },
    rawRewriteAll: async (events) => {
      this.#events = structuredClone([...events]);
    },
    rawSwapOrder: async (a, b) => {
      const events = this.#raw();
      const [i, j] = [this.#indexOf(a), this.#indexOf(b)];
      [events[i], events[j]] = [events[j]!, events[i]!];
    },
    rawReplaceCheckpoints: async (checkpoints) => {
      this.#checkpoints = structuredClone([...checkpoints]);
    },
  };

  #raw(): LedgerEvent[] {
    this.#events ??= this.all();
    return this.#events;
  }

  #indexOf(eventId: string): number {
    const index = this.#raw().findIndex((event) => event.id === eventId);
    if (index < 0) throw new Error(`no stored event ${eventId}`);
    return index;
  }

  override appendSync(events: readonly LedgerEvent[]): void {
    if (this.#events) throw new Error('TamperableMemoryLedger: no appends after tampering');
    super.appendSync(events);
  }

  override async read(query: LedgerQuery = {}): Promise<LedgerPage> {
    if (!this.#events) return super.read(query);
    const limit = query.limit ?? 1000;
    const start = query.cursor === undefined ? 0 : Number(query.cursor);
    const events: LedgerEvent[] = [];
    for (let i = start; i < this.#events.length; i++) {
      const event = this.#events[i]!;
      if (!matchesLedgerQuery(event, query)) continue;
      if (events.length === limit) return { events, nextCursor: String(i) };
      events.push(event);
    }
    return { events };
  }

  override async head(stream: string): Promise<ChainHead | undefined> {
    if (!this.#events) return super.head(stream);
    return (await this.heads())[stream];
  }

  override async heads(): Promise<Record<string, ChainHead>> {
    if (!this.#events) return super.heads();
    const heads: Record<string, ChainHead> = {};
    for (const event of this.#events) {
      const head = heads[event.stream];
      if (!head || event.seq > head.seq) heads[event.stream] = { seq: event.seq, hash: event.hash };
    }
    return heads;
  }

  override async appendCheckpoint(checkpoint: LedgerCheckpoint): Promise<void> {
    if (this.#checkpoints) this.#checkpoints.push(structuredClone(checkpoint));
    else await super.appendCheckpoint(checkpoint);
  }

  override async listCheckpoints(): Promise<LedgerCheckpoint[]> {
    return this.#checkpoints ? structuredClone(this.#checkpoints) : super.listCheckpoints();
  }
}
