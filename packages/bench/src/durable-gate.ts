import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type Run, type RuntimeStores, readAll, verifyLedger } from '@custody/core';
import { createPostgresStores, type PostgresStores } from '@custody/store-postgres';
import { createSqliteStores } from '@custody/store-sqlite';
import { SUPPORT_RUN } from './gated-call.js';
import {
  type ConcurrentRate,
  collectGarbage,
  type Spread,
  spreadOf,
  type Timing,
  timeConcurrentLoops,
  timeEachCall,
} from './measure.js';
import {
  dropSchema,
  freshSchemaName,
  type PostgresServer,
  probePostgres,
  redactUrl,
} from './postgres-server.js';
import { openRawPostgresCommits, openRawSqliteCommits, type RawCommits } from './raw-commit.js';
import { supportPolicy } from './support-policy.js';
import { createTicketTool, getTicketTool, ticketDraft } from './ticket-tools.js';

/**
 * The targets for gated calls on durable stores, and the in-memory guard. Ratios are a
 * lone gated call's median latency over the same engine's raw commit, measured in the same run.
 */
export const DURABLE_GATE_TARGETS = {
  /** A lone gated write on SQLite: at most this many raw SQLite commits (two commits and a little). */
  sqliteWriteRatio: 2.5,
  /** A lone gated read on SQLite: at most this many raw commits (one commit and a little). */
  sqliteReadRatio: 1.5,
  /** Gated writes per second, 16 runs writing back to back, every run together. */
  sqliteConcurrentWrites: 5_000,
  postgresConcurrentWrites: 3_000,
  /** One AI SDK tool step costs at least this many in-memory gated writes (overheads, medians). */
  memoryGateVsToolStep: 8,
} as const;

/** Options of {@link measureDurableGate}. */
export interface DurableGateOptions {
  /** Rounds of the lone timings (raw commit, gated write, gated read, in that order each round). */
  rounds: number;
  /** Calls timed one by one per timing per round, after `loneWarmup` untimed ones. */
  loneCalls: number;
  loneWarmup: number;
  /** Runs writing at once in the concurrency figures. */
  concurrentRuns: number;
  /** Rounds of the concurrency figures (raw commits, then gated writes, each round). */
  concurrentRounds: number;
  /** Each concurrency figure: loops run this long untimed, then this long timed. */
  concurrentWarmupMs: number;
  concurrentWindowMs: number;
  /** The PostgreSQL server; its figures are skipped when it cannot be reached. */
  postgresUrl: string;
}

/** One round of the lone timings, taken back to back on one engine. */
export interface LoneRound {
  readonly rawCommit: Timing;
  readonly gatedWrite: Timing;
  readonly gatedRead: Timing;
  /** Median gated latency over median raw commit, within this round. */
  readonly writeRatio: number;
  readonly readRatio: number;
}

/** One engine's figures, measured or skipped. */
export type DurableEngineFigures = { readonly engine: 'sqlite' | 'postgres'; readonly name: string } & (
  | {
      readonly status: 'measured';
      /** What one raw commit is. */
      readonly rawCommit: string;
      readonly rounds: readonly LoneRound[];
      /** Over rounds: median latencies (µs) and the ratios. */
      readonly rawCommitUs: Spread;
      readonly gatedWriteUs: Spread;
      readonly gatedReadUs: Spread;
      readonly writeRatio: Spread;
      readonly readRatio: Spread;
      /** Ledger events one gated call wrote, read back from the store. */
      readonly eventsPerWrite: number;
      readonly eventsPerRead: number;
      readonly concurrent: {
        readonly runs: number;
        readonly raw: readonly ConcurrentRate[];
        readonly gated: readonly ConcurrentRate[];
        /** Commits (raw) and gated writes per second, over rounds. */
        readonly rawPerSecond: Spread;
        readonly gatedPerSecond: Spread;
      };
      /** Events read back and verified with `verifyLedger` (one lone run and one concurrent run). */
      readonly verifiedEvents: number;
    }
  | { readonly status: 'skipped'; readonly reason: string }
);

/** Every figure of the durable gate section. */
export interface DurableGateFigures {
  readonly options: Omit<DurableGateOptions, 'postgresUrl'>;
  readonly sqlite: DurableEngineFigures;
  readonly postgres: DurableEngineFigures;
  readonly postgresServer: {
    readonly url: string;
    readonly schema: string | null;
    readonly server: PostgresServer | null;
  };
  /** Wall time of the whole section. */
  readonly seconds: number;
}

/** A store set the runtime writes to, and how to let it go. */
type DurableStores = RuntimeStores & { close(): Promise<void> };

/**
 * Gated calls on durable stores, against the raw commit of the same engine measured in the same
 * run: a lone gated write and a lone gated read (median latency, one call at a time) over a raw
 * one-row commit, on SQLite (a fresh temporary folder) and PostgreSQL (a fresh schema); then
 * `concurrentRuns` runs doing gated writes back to back, beside as many raw writers committing
 * back to back. Apps' way in only: `createRuntime` with `createSqliteStores` /
 * `createPostgresStores` and the support policy.
 */
export async function measureDurableGate(
  options: DurableGateOptions,
  log: (message: string) => void = () => {},
): Promise<DurableGateFigures> {
  const started = process.hrtime.bigint();
  const { postgresUrl: url, ...settings } = options;

  const folder = mkdtempSync(join(tmpdir(), 'custody-bench-durable-'));
  let sqlite: DurableEngineFigures;
  try {
    log(`durable gate: SQLite in ${folder} …`);
    const stores = createSqliteStores({ path: join(folder, 'custody.db') });
    const raw = openRawSqliteCommits(join(folder, 'raw-commit.db'));
    try {
      sqlite = await measureEngine('sqlite', 'SQLite', stores, raw, options, log);
    } finally {
      await raw.close();
      await stores.close();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
  collectGarbage();

  log(`durable gate: PostgreSQL at ${redactUrl(url)} …`);
  const probe = await probePostgres(url);
  let postgres: DurableEngineFigures;
  let schema: string | null = null;
  if (typeof probe === 'string') {
    postgres = {
      engine: 'postgres',
      name: 'PostgreSQL',
      status: 'skipped',
      reason: `PostgreSQL at ${redactUrl(url)} is unreachable (${probe}); start it or set CUSTODY_BENCH_POSTGRES_URL`,
    };
  } else {
    schema = freshSchemaName();
    let stores: PostgresStores | undefined;
    let raw: RawCommits | undefined;
    try {
      let setUp: string | null = null;
      try {
        stores = createPostgresStores({ connectionString: url, schema });
        await stores.migrate();
        raw = await openRawPostgresCommits(url, schema);
      } catch (error) {
        setUp = error instanceof Error ? error.message : String(error);
      }
      // A server that cannot take the schema is skipped; a store that fails once set up stops the bench.
      postgres =
        setUp === null
          ? await measureEngine('postgres', 'PostgreSQL', stores!, raw!, options, log)
          : {
              engine: 'postgres',
              name: 'PostgreSQL',
              status: 'skipped',
              reason: `could not set up schema ${schema} at ${redactUrl(url)} (${setUp})`,
            };
    } finally {
      await raw?.close().catch(() => {});
      await stores?.close().catch(() => {});
      await dropSchema(url, schema).catch(() => {});
    }
  }

  return {
    options: settings,
    sqlite,
    postgres,
    postgresServer: { url: redactUrl(url), schema, server: typeof probe === 'string' ? null : probe },
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

// Every gated write gets a draft no other write of the section had, so none is an idempotency hit.
let nextDraft = 0;

async function measureEngine(
  engine: 'sqlite' | 'postgres',
  name: string,
  stores: DurableStores,
  raw: RawCommits,
  options: DurableGateOptions,
  log: (message: string) => void,
): Promise<DurableEngineFigures> {
  const runtime = createRuntime({
    tools: [createTicketTool, getTicketTool],
    policy: supportPolicy(),
    stores,
  });
  const { loneCalls: iterations, loneWarmup: warmup } = options;
  const perPhase = iterations + warmup;

  const rounds: LoneRound[] = [];
  let eventsPerWrite = 0;
  let eventsPerRead = 0;
  let verifiedEvents = 0;
  for (let round = 0; round < options.rounds; round++) {
    log(`durable gate: ${name}, lone calls, round ${round + 1} of ${options.rounds} …`);
    const run = await runtime.startRun(SUPPORT_RUN);
    const drafts = Array.from({ length: perPhase }, () => ticketDraft(nextDraft++));
    const queries = Array.from({ length: perPhase }, (_, i) => ({ ticketId: `T-${round}-${i}` }));
    const storedEvents = async () => (await readAll(stores.ledger, { stream: run.runId })).length;

    collectGarbage();
    const rawCommit = await timeEachCall(`${name} raw commit`, (i) => raw.commit(round * perPhase + i), {
      iterations,
      warmup,
    });
    collectGarbage();
    const beforeWrites = await storedEvents();
    const gatedWrite = await timeEachCall(
      `${name} run.call (write)`,
      async (i) => {
        const result = await run.call(createTicketTool, drafts[i]);
        if (result.status !== 'ok' || result.idempotencyHit) throw unexpected('tickets.create', result);
      },
      { iterations, warmup },
    );
    const afterWrites = await storedEvents();
    collectGarbage();
    const gatedRead = await timeEachCall(
      `${name} run.call (read)`,
      async (i) => {
        const result = await run.call(getTicketTool, queries[i]);
        if (result.status !== 'ok') throw unexpected('tickets.get', result);
      },
      { iterations, warmup },
    );
    const afterReads = await storedEvents();
    eventsPerWrite = (afterWrites - beforeWrites) / perPhase;
    eventsPerRead = (afterReads - afterWrites) / perPhase;
    await run.end({ outcome: 'succeeded' });
    if (round === 0) verifiedEvents += await verifyRun(stores, run, afterReads);
    rounds.push({
      rawCommit,
      gatedWrite,
      gatedRead,
      writeRatio: gatedWrite.medianUs / rawCommit.medianUs,
      readRatio: gatedRead.medianUs / rawCommit.medianUs,
    });
  }

  const many = options.concurrentRuns;
  const loops = { loops: many, warmupMs: options.concurrentWarmupMs, windowMs: options.concurrentWindowMs };
  const rawRates: ConcurrentRate[] = [];
  const gatedRates: ConcurrentRate[] = [];
  for (let round = 0; round < options.concurrentRounds; round++) {
    log(`durable gate: ${name}, ${many} runs at once, round ${round + 1} of ${options.concurrentRounds} …`);
    collectGarbage();
    rawRates.push(await raw.concurrentRate(loops));
    const runs = await Promise.all(Array.from({ length: many }, () => runtime.startRun(SUPPORT_RUN)));
    const completed = new Array<number>(many).fill(0);
    const base = nextDraft;
    collectGarbage();
    gatedRates.push(
      await timeConcurrentLoops(async (loop, index) => {
        const result = await runs[loop]!.call(createTicketTool, ticketDraft(base + index));
        if (result.status !== 'ok' || result.idempotencyHit) throw unexpected('tickets.create', result);
        completed[loop]!++;
      }, loops),
    );
    nextDraft = base + completed.reduce((sum, count) => sum + count, 0);
    await Promise.all(runs.map((run) => run.end({ outcome: 'succeeded' })));
    if (round === 0) verifiedEvents += await verifyRun(stores, runs[0]!, completed[0]! * eventsPerWrite);
  }

  const spread = (values: (round: LoneRound) => number) => spreadOf(rounds.map(values));
  return {
    engine,
    name,
    status: 'measured',
    rawCommit: raw.description,
    rounds,
    rawCommitUs: spread((r) => r.rawCommit.medianUs),
    gatedWriteUs: spread((r) => r.gatedWrite.medianUs),
    gatedReadUs: spread((r) => r.gatedRead.medianUs),
    writeRatio: spread((r) => r.writeRatio),
    readRatio: spread((r) => r.readRatio),
    eventsPerWrite,
    eventsPerRead,
    concurrent: {
      runs: many,
      raw: rawRates,
      gated: gatedRates,
      rawPerSecond: spreadOf(rawRates.map((rate) => rate.perSecond)),
      gatedPerSecond: spreadOf(gatedRates.map((rate) => rate.perSecond)),
    },
    verifiedEvents,
  };
}

/**
 * Reads an ended run's stream back from the store and verifies its hash chain, so the figures
 * are known to be for real, complete writes: at least `atLeast` events must be there (what its
 * calls wrote, as counted while it ran).
 */
async function verifyRun(stores: DurableStores, run: Run, atLeast: number): Promise<number> {
  const events = await readAll(stores.ledger, { stream: run.runId });
  const verification = verifyLedger(events);
  if (!verification.ok) {
    throw new Error(
      `[custody-bench] run ${run.runId} read back does not verify: ${verification.problem.message}`,
    );
  }
  if (events.length < atLeast) {
    throw new Error(
      `[custody-bench] run ${run.runId} should hold at least ${atLeast} events, its stream holds ${events.length}`,
    );
  }
  return events.length;
}

function unexpected(what: string, result: unknown): Error {
  return new Error(`[custody-bench] ${what} should have run, got ${JSON.stringify(result)}`);
}
