import { randomHex } from './ledger/hash.js';

/** The kinds of id the runtime mints. */
export type IdKind = 'run' | 'call' | 'approval' | 'model' | 'id';

/** Where the runtime gets ids. Injected so tests and replays control them. */
export interface IdSource {
  /** A new id for `kind`, unique across processes (e.g. `run_01…`). */
  next(kind: IdKind): string;
  /** A W3C trace id: 32 lowercase hex characters, not all zero. */
  traceId(): string;
  /** A W3C span id: 16 lowercase hex characters, not all zero. */
  spanId(): string;
}

/**
 * Random ids: a millisecond timestamp (so ids sort roughly by creation) and 80 random bits.
 */
export const randomIds: IdSource = {
  next: (kind) => `${kind}_${Date.now().toString(36)}${randomHex(10)}`,
  traceId: () => randomHex(16),
  spanId: () => randomHex(8),
};
