import { CustodyError } from '../errors.js';

/** One unit's answer from a group's write: its value, or why it alone failed. */
export type Settled<R> =
  | { readonly ok: true; readonly value: R }
  | { readonly ok: false; readonly error: unknown };

/** How a store writes its groups: the engine-specific part of group commit. */
export interface GroupCommitOptions<U, R> {
  /**
   * Writes one group in one transaction and answers for each unit, in order. Throwing (or
   * rejecting) fails every unit of the group with that error: nothing of it was written.
   */
  readonly write: (group: readonly U[]) => readonly Settled<R>[] | Promise<readonly Settled<R>[]>;
  /**
   * The keys a unit writes (its streams, its idempotency keys). Units that share a key are never
   * written by two groups at once, and keep the order they were submitted in.
   */
  readonly keysOf: (unit: U) => Iterable<string>;
  /** A unit's weight towards `maxGroupSize` (default 1). */
  readonly sizeOf?: (unit: U) => number;
  /** Largest group, in the units' sizes (default unbounded). A heavier unit still goes alone. */
  readonly maxGroupSize?: number;
  /** How many groups may be in flight at once, each over keys no other touches (default 1). */
  readonly lanes?: number;
  /**
   * When a first submit starts the next group: everything submitted before then joins it.
   * Default `queueMicrotask`; a store whose write is synchronous may wait a whole turn.
   */
  readonly schedule?: (start: () => void) => void;
}

interface Queued<U, R> {
  readonly unit: U;
  readonly resolve: (value: R) => void;
  readonly reject: (error: unknown) => void;
  readonly detach: () => void;
}

/**
 * Group commit, once for every store: units submitted close together (by one run or by many)
 * share one transaction, so concurrent runs share their fsyncs. Each unit settles on its own,
 * only after its group's write answered; units over the same keys commit one group after the
 * other, in submission order. Stores supply the write; this supplies the queue, the lanes and
 * the ordering.
 */
export class GroupCommit<U, R> {
  readonly #options: GroupCommitOptions<U, R>;
  readonly #queue: Queued<U, R>[] = [];
  readonly #lanes = new Set<Promise<void>>();
  /** Keys a group in flight is writing. */
  readonly #busy = new Set<string>();
  #scheduled = false;
  readonly #start = () => {
    this.#scheduled = false;
    this.startPending();
  };

  constructor(options: GroupCommitOptions<U, R>) {
    this.#options = options;
  }

  /** Queues a unit for the next group; resolves with its answer once that group was written. */
  submit(unit: U, options: { signal?: AbortSignal } = {}): Promise<R> {
    const signal = options.signal;
    if (signal?.aborted) return Promise.reject(aborted(signal));
    return new Promise<R>((resolve, reject) => {
      const onAbort = () => {
        // Only while still queued: once its group is being written, the outcome is the write's.
        const at = this.#queue.indexOf(entry);
        if (at < 0) return;
        this.#queue.splice(at, 1);
        reject(aborted(signal!));
      };
      const entry: Queued<U, R> = {
        unit,
        resolve,
        reject,
        detach: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#queue.push(entry);
      if (!this.#scheduled) {
        this.#scheduled = true;
        (this.#options.schedule ?? queueMicrotask)(this.#start);
      }
    });
  }

  /**
   * Starts groups now, as many as free lanes allow. With a synchronous `write`, every queued unit
   * whose keys are free has been written (and its promise settled) when this returns.
   */
  startPending(): void {
    const lanes = this.#options.lanes ?? 1;
    while (this.#lanes.size < lanes) {
      const group = this.#takeGroup();
      if (group.length === 0) return;
      const keys = new Set<string>();
      for (const entry of group) {
        entry.detach();
        for (const key of this.#options.keysOf(entry.unit)) keys.add(key);
      }
      let answers: readonly Settled<R>[] | Promise<readonly Settled<R>[]>;
      try {
        answers = this.#options.write(group.map((entry) => entry.unit));
      } catch (error) {
        for (const entry of group) entry.reject(error);
        continue;
      }
      if (!(answers instanceof Promise)) {
        settle(group, answers);
        continue;
      }
      for (const key of keys) this.#busy.add(key);
      const lane: Promise<void> = answers
        .then(
          (settled) => settle(group, settled),
          (error) => {
            for (const entry of group) entry.reject(error);
          },
        )
        .finally(() => {
          for (const key of keys) this.#busy.delete(key);
          this.#lanes.delete(lane);
          if (this.#queue.length > 0) this.startPending();
        });
      this.#lanes.add(lane);
    }
  }

  /** Resolves once nothing is queued or being written (what a read waits for). */
  async idle(): Promise<void> {
    while (this.#lanes.size > 0 || this.#queue.length > 0) {
      if (this.#lanes.size > 0) await Promise.allSettled(this.#lanes);
      else this.startPending();
    }
  }

  /** Units queued and not yet in a group. */
  get queued(): number {
    return this.#queue.length;
  }

  /** In queue order, the units whose keys are free, up to the size limit. */
  #takeGroup(): Queued<U, R>[] {
    const { keysOf, sizeOf, maxGroupSize = Number.POSITIVE_INFINITY } = this.#options;
    const taken: Queued<U, R>[] = [];
    // Keys whose next unit must wait: in flight, or an earlier unit over them stays queued.
    const blocked = new Set(this.#busy);
    let size = 0;
    for (let i = 0; i < this.#queue.length && size < maxGroupSize; ) {
      const entry = this.#queue[i]!;
      const keys = [...keysOf(entry.unit)];
      const weight = sizeOf ? sizeOf(entry.unit) : 1;
      if (keys.some((key) => blocked.has(key)) || (taken.length > 0 && size + weight > maxGroupSize)) {
        for (const key of keys) blocked.add(key);
        i++;
        continue;
      }
      taken.push(entry);
      size += weight;
      this.#queue.splice(i, 1);
    }
    return taken;
  }
}

function settle<U, R>(group: readonly Queued<U, R>[], answers: readonly Settled<R>[]): void {
  for (let i = 0; i < group.length; i++) {
    const answer = answers[i];
    if (answer === undefined) {
      group[i]!.reject(
        new CustodyError('CUSTODY_STORE_ERROR', `the store's group write gave no answer for unit ${i}`),
      );
    } else if (answer.ok) group[i]!.resolve(answer.value);
    else group[i]!.reject(answer.error);
  }
}

function aborted(signal: AbortSignal): CustodyError {
  return new CustodyError(
    'CUSTODY_ABORTED',
    'the write was aborted before it was committed; nothing was stored',
    {
      cause: signal.reason,
    },
  );
}
