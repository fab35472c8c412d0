import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Distribution of one measured operation, in microseconds per call. */
export interface Timing {
  readonly name: string;
  /** Calls (or operations) that were timed, warm-up excluded. */
  readonly iterations: number;
  readonly medianUs: number;
  readonly p99Us: number;
  readonly meanUs: number;
  readonly minUs: number;
  readonly maxUs: number;
}

/** Options of {@link timeEachCall}. */
export interface TimeEachCallOptions {
  /** Calls timed and kept. */
  iterations: number;
  /** Calls made first and thrown away, so the JIT has settled before anything counts. */
  warmup: number;
  /** Calls per batch; `beforeBatch` runs before each batch, outside the timed region. */
  batchSize?: number;
  beforeBatch?: (batch: number) => void | Promise<void>;
}

/**
 * Times every call on its own with `process.hrtime.bigint()`. The callback gets a running index
 * (warm-up included), so a scenario can hand each call a distinct input from a prepared pool.
 * The clock reads themselves (~50 ns) are in every sample; they cancel out when two timings are
 * subtracted, which is how overheads are reported.
 */
export async function timeEachCall(
  name: string,
  call: (index: number) => unknown,
  options: TimeEachCallOptions,
): Promise<Timing> {
  const { iterations, warmup, batchSize, beforeBatch } = options;
  const total = warmup + iterations;
  const samples = new Float64Array(iterations);
  for (let index = 0; index < total; index++) {
    if (batchSize !== undefined && beforeBatch && index % batchSize === 0) {
      await beforeBatch(index / batchSize);
    }
    const started = process.hrtime.bigint();
    const result = call(index);
    // Synchronous operations are timed without the microtask an await would add.
    if (result instanceof Promise) await result;
    const elapsed = process.hrtime.bigint() - started;
    if (index >= warmup) samples[index - warmup] = Number(elapsed) / 1_000;
  }
  return summarize(name, samples);
}

const UNREACHABLE = Symbol('no operation returns this');

/** Options of {@link timeInRounds}. */
export interface TimeInRoundsOptions {
  /** Rounds timed and kept; the distribution is over rounds. */
  rounds: number;
  /** Operations per round: enough that a round lasts well above the clock's resolution. */
  operationsPerRound: number;
  /** Rounds run first and thrown away. */
  warmupRounds: number;
}

/**
 * Times synchronous operations too short to time one by one: each round runs `operationsPerRound`
 * operations back to back, and the figures are per operation (a round's time divided by its size).
 * The p99 is a p99 of rounds, so it smooths out single slow operations; use it to spot GC pauses
 * and deoptimisation, not tail latency of one call.
 */
export function timeInRounds(
  name: string,
  operation: (index: number) => unknown,
  options: TimeInRoundsOptions,
): Timing {
  const { rounds, operationsPerRound, warmupRounds } = options;
  const samples = new Float64Array(rounds);
  let index = 0;
  let unreachable = 0;
  for (let round = 0; round < warmupRounds + rounds; round++) {
    const started = process.hrtime.bigint();
    // Comparing each result keeps it live, so the optimiser cannot drop the work behind it.
    for (let i = 0; i < operationsPerRound; i++) if (operation(index++) === UNREACHABLE) unreachable++;
    const elapsed = process.hrtime.bigint() - started;
    if (round >= warmupRounds) samples[round - warmupRounds] = Number(elapsed) / 1_000 / operationsPerRound;
  }
  if (unreachable > 0) throw new Error(`[custody-bench] "${name}" returned a private symbol`);
  return summarize(name, samples, rounds * operationsPerRound);
}

/** Median, p99 (nearest rank), mean, min and max of samples in microseconds. */
export function summarize(name: string, samples: Float64Array, iterations = samples.length): Timing {
  if (samples.length === 0) throw new RangeError(`[custody-bench] no samples for "${name}"`);
  const sorted = Float64Array.from(samples).sort();
  let sum = 0;
  for (const sample of sorted) sum += sample;
  return {
    name,
    iterations,
    medianUs: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    meanUs: sum / sorted.length,
    minUs: sorted[0]!,
    maxUs: sorted[sorted.length - 1]!,
  };
}

/** Nearest-rank percentile of ascending samples. */
export function percentile(sorted: Float64Array, fraction: number): number {
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil(fraction * sorted.length) - 1));
  return sorted[rank]!;
}

let collector: (() => void) | undefined | null = null;

/**
 * Runs a full garbage collection between phases, so one phase's garbage is not collected on
 * another's clock. Uses `global.gc` when node runs with `--expose-gc`, otherwise enables it at run
 * time; answers false (and does nothing) when neither works.
 */
export function collectGarbage(): boolean {
  if (collector === null) collector = findCollector();
  if (!collector) return false;
  collector();
  return true;
}

function findCollector(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return exposed;
  try {
    // The flag only exposes `gc` to contexts created after it is set, hence the fresh context.
    setFlagsFromString('--expose-gc');
    const fresh: unknown = runInNewContext('gc');
    return typeof fresh === 'function' ? (fresh as () => void) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Of several rounds, the one whose `overhead` is the median (the lower middle for an even count).
 * One round can land on a slow or a fast stretch of a machine whose speed drifts; the median round
 * is steadier, and its figures were still measured side by side.
 */
export function medianRound<T>(rounds: readonly T[], overhead: (round: T) => number): T {
  if (rounds.length === 0) throw new RangeError('[custody-bench] medianRound needs at least one round');
  const ordered = [...rounds].sort((a, b) => overhead(a) - overhead(b));
  return ordered[(ordered.length - 1) >> 1]!;
}

/** A figure measured once per round: the median round's value and the range over every round. */
export interface Spread {
  readonly median: number;
  readonly min: number;
  readonly max: number;
  /** Every round's value, in the order measured. */
  readonly rounds: readonly number[];
}

/** The median (the lower middle for an even count), min and max of per-round values. */
export function spreadOf(values: readonly number[]): Spread {
  if (values.length === 0) throw new RangeError('[custody-bench] spreadOf needs at least one value');
  const ordered = [...values].sort((a, b) => a - b);
  return {
    median: ordered[(ordered.length - 1) >> 1]!,
    min: ordered[0]!,
    max: ordered[ordered.length - 1]!,
    rounds: [...values],
  };
}

/** Options of {@link timeConcurrentLoops}. */
export interface ConcurrentLoopOptions {
  /** Loops running at once, each awaiting its operation before starting the next. */
  loops: number;
  /** The same loops run this long first, untimed. */
  warmupMs: number;
  /** How long the loops keep starting operations while the clock runs. */
  windowMs: number;
}

/** What {@link timeConcurrentLoops} counted. */
export interface ConcurrentRate {
  readonly loops: number;
  /** Operations completed in the timed phase, every loop together. */
  readonly operations: number;
  /** From the start of the timed phase until its last operation settled. */
  readonly seconds: number;
  readonly perSecond: number;
  /** This process's CPU time (user + system) over `seconds`: 1 = one core kept busy. */
  readonly processCpuShare: number;
}

/**
 * Throughput of `loops` loops running at once, each awaiting `operation` and starting the next
 * until the window closes. The clock stops when the last operation started in the window settles,
 * and every one of them is counted, so nothing in flight is dropped or half-counted. `index` runs
 * across loops and phases (warm-up included), so each operation can take a distinct input.
 */
export async function timeConcurrentLoops(
  operation: (loop: number, index: number) => unknown,
  options: ConcurrentLoopOptions,
): Promise<ConcurrentRate> {
  let next = 0;
  const phase = async (ms: number) => {
    const deadline = process.hrtime.bigint() + BigInt(Math.round(ms * 1e6));
    let done = 0;
    await Promise.all(
      Array.from({ length: options.loops }, async (_, loop) => {
        // Awaiting even a synchronous operation lets the other loops take their turn.
        while (process.hrtime.bigint() < deadline) {
          await operation(loop, next++);
          done++;
        }
      }),
    );
    return done;
  };
  await phase(options.warmupMs);
  collectGarbage();
  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  const operations = await phase(options.windowMs);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);
  return {
    loops: options.loops,
    operations,
    seconds,
    perSecond: operations / seconds,
    processCpuShare: (cpu.user + cpu.system) / 1e6 / seconds,
  };
}
