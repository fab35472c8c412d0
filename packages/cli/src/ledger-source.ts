import { readFile } from 'node:fs/promises';
import {
  createLedger,
  type Ledger,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerQuery,
  type LedgerStore,
  type ParsedLedgerExport,
  parseJsonlExport,
} from '@custody/core';
import { matchesLedgerQuery } from '@custody/core/ledger';
import { createPostgresStores } from '@custody/store-postgres';
import { createSqliteLedgerStore } from '@custody/store-sqlite';
import type { StoreTarget } from './store-arg.js';

/** An open ledger store (SQLite or PostgreSQL). */
export interface StoreSource {
  readonly kind: 'store';
  readonly target: StoreTarget;
  readonly store: LedgerStore;
  /** The operator view of the store (no signer). */
  readonly ledger: Ledger;
}

/** A JSONL export, read whole and parsed (its lines checked canonical). */
export interface ExportSource {
  readonly kind: 'export';
  readonly target: StoreTarget;
  readonly parsed: ParsedLedgerExport;
}

/** Where a command reads events: a live store or an export file. */
export type LedgerSource = StoreSource | ExportSource;

// Enough for a CLI's few concurrent reads; a dead server fails the command instead of hanging it.
const POSTGRES_POOL = { max: 4, connectionTimeoutMillis: 10_000 };

/**
 * Opens the ledger `target` names, runs `work` with it and closes it (ending the PostgreSQL pool)
 * whatever happens.
 */
export async function withLedgerSource<T>(
  target: StoreTarget,
  work: (source: LedgerSource) => Promise<T>,
): Promise<T> {
  if (target.kind === 'jsonl') {
    const parsed = parseJsonlExport(await readFile(target.path, 'utf8'));
    return work({ kind: 'export', target, parsed });
  }
  let store: LedgerStore;
  let close: () => Promise<void>;
  if (target.kind === 'sqlite') {
    store = createSqliteLedgerStore({ path: target.path });
    close = () => store.close?.() ?? Promise.resolve();
  } else {
    const stores = createPostgresStores({
      connectionString: target.url,
      poolOptions: POSTGRES_POOL,
      ...(target.schema !== undefined ? { schema: target.schema } : {}),
    });
    store = stores.ledger;
    close = () => stores.close();
  }
  try {
    return await work({ kind: 'store', target, store, ledger: createLedger({ store }) });
  } finally {
    await close();
  }
}

/** Every event of the source that matches `query`, in ledger order. */
export async function queryEvents(source: LedgerSource, query: LedgerQuery = {}): Promise<LedgerEvent[]> {
  if (source.kind === 'store') return source.ledger.query(query);
  return source.parsed.events.filter((event) => matchesLedgerQuery(event, query));
}

/** The checkpoints the source keeps: stored beside the events, or carried in the export. */
export async function sourceCheckpoints(source: LedgerSource): Promise<LedgerCheckpoint[]> {
  if (source.kind === 'export') return source.parsed.checkpoints;
  return source.ledger.checkpoints();
}

/** How the source is named in output: `./ledger.db (SQLite)`. */
export function describeSource(target: StoreTarget): string {
  const kind = { sqlite: 'SQLite', postgres: 'PostgreSQL', jsonl: 'JSONL export' }[target.kind];
  const schema = target.kind === 'postgres' ? `, schema ${target.schema ?? 'custody'}` : '';
  return `${target.label} (${kind}${schema})`;
}
