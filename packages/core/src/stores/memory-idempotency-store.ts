import type {
  IdempotencyClaim,
  IdempotencyClaimRequest,
  IdempotencyRecord,
  IdempotencyStore,
} from './idempotency-store.js';

type Entry =
  | { state: 'claimed'; fingerprint: string; callId: string; leaseExpiresAt: number }
  | { state: 'completed'; record: IdempotencyRecord; expiresAt: number };

/** Idempotency keys in a map, with leases and expiry on the runtime's clock. */
export class InMemoryIdempotencyStore implements IdempotencyStore {
  readonly specificationVersion = 'v1' as const;
  readonly #entries = new Map<string, Entry>();

  async claim(request: IdempotencyClaimRequest): Promise<IdempotencyClaim> {
    return this.claimSync(request);
  }

  async complete(record: IdempotencyRecord & { ttlMs: number }): Promise<void> {
    this.completeSync(record);
  }

  async release(request: { tenant: string; key: string; callId: string }): Promise<void> {
    this.releaseSync(request);
  }

  /** {@link InMemoryIdempotencyStore.claim} without a promise, for the memory unit of work. */
  claimSync(request: IdempotencyClaimRequest): IdempotencyClaim {
    const id = `${request.tenant}\u0000${request.key}`;
    const entry = this.#entries.get(id);
    if (entry?.state === 'completed' && entry.expiresAt > request.now) {
      return entry.record.fingerprint === request.fingerprint
        ? { status: 'completed', record: entry.record }
        : { status: 'conflict', fingerprint: entry.record.fingerprint };
    }
    if (entry?.state === 'claimed' && entry.leaseExpiresAt > request.now) {
      return entry.fingerprint === request.fingerprint
        ? { status: 'in_progress', leaseExpiresAt: entry.leaseExpiresAt }
        : { status: 'conflict', fingerprint: entry.fingerprint };
    }
    this.#entries.set(id, {
      state: 'claimed',
      fingerprint: request.fingerprint,
      callId: request.callId,
      leaseExpiresAt: request.now + request.leaseMs,
    });
    return { status: 'claimed' };
  }

  completeSync(record: IdempotencyRecord & { ttlMs: number }): void {
    // Field by field rather than a rest spread, which costs several times as much on the hot path.
    const stored: IdempotencyRecord = {
      tenant: record.tenant,
      key: record.key,
      fingerprint: record.fingerprint,
      outcome: record.outcome,
      callId: record.callId,
      completedAt: record.completedAt,
    };
    this.#entries.set(`${record.tenant}\u0000${record.key}`, {
      state: 'completed',
      record: stored,
      expiresAt: record.completedAt + record.ttlMs,
    });
  }

  releaseSync(request: { tenant: string; key: string; callId: string }): void {
    const id = `${request.tenant}\u0000${request.key}`;
    const entry = this.#entries.get(id);
    if (entry?.state === 'claimed' && entry.callId === request.callId) this.#entries.delete(id);
  }
}
