import type { Clock } from '../clock.js';

/**
 * A clock that moves only when told to. Starts at 2026-01-01T00:00:00.000Z unless given a time.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * const runtime = createRuntime({ tools, policy, clock });
 * clock.advance(60_000);
 * ```
 */
export class FakeClock implements Clock {
  #now: number;

  constructor(start: number | string | Date = '2026-01-01T00:00:00.000Z') {
    this.#now = typeof start === 'number' ? start : new Date(start).getTime();
    if (!Number.isFinite(this.#now))
      throw new TypeError(`[custody] FakeClock start is not a valid time: ${String(start)}`);
  }

  now(): number {
    return this.#now;
  }

  /** Moves time forward by `ms` milliseconds. */
  advance(ms: number): void {
    if (!(ms >= 0)) throw new TypeError(`[custody] FakeClock.advance takes a non-negative number, got ${ms}`);
    this.#now += ms;
  }

  /** Jumps to a time. */
  set(time: number | string | Date): void {
    this.#now = typeof time === 'number' ? time : new Date(time).getTime();
  }
}
