import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type ChainHead,
  InMemoryLedgerStore,
  type LedgerEvent,
  type LedgerStore,
  readAll,
  verifyLedger,
} from '@custody/core';
import { canonicalize, sealEvent } from '@custody/core/ledger';
import { createPostgresStores, type PostgresStores } from '@custody/store-postgres';
import { createSqliteLedgerStore } from '@custody/store-sqlite';
import { collectGarbage } from './measure.js';
import { dropSchema, freshSchemaName, probePostgres, redactUrl } from './postgres-server.js';

/** Options of {@link measureLedgerThroughput}: event counts per scenario, sized for ~60 s on 2 cores. */
export interface LedgerThroughputOptions {
  /** Memory store, one event per append; the same events are then verified. */
  memoryEvents: number;
  /** SQLite, one run, one event per append (one transaction, one fsync each). */
  sqliteSingleEvents: number;
  /** SQLite, one run, {@link batchSize} events per append. */
  sqliteBatchedEvents: number;
  /** SQLite, {@link concurrentRuns} runs appending one event at a time (all runs together). */
  sqliteConcurrentEvents: number;
  /** PostgreSQL, one run, one event per append. */
  postgresSingleEvents: number;
  /** PostgreSQL, one run, {@link batchSize} events per append. */
  postgresBatchedEvents: number;
  /** PostgreSQL, {@link concurrentRuns} runs, one event per append (all runs together). */
  postgresConcurrentEvents: number;
  /** PostgreSQL, {@link concurrentRuns} runs, {@link batchSize} events per append (all runs together). */
  postgresConcurrentBatchedEvents: number;
  /** Runs (streams) appending at once in the concurrent scenarios. */
  concurrentRuns: number;
  /** Events per append in the batched scenarios. */
  batchSize: number;
  /** Timed `verifyLedger` passes over the memory store's events; the median is reported. */
  verifyRounds: number;
  /** The PostgreSQL server; its scenarios are skipped when it cannot be reached. */
  postgresUrl: string;
}

/** A figure the issue asks for, and whether this run reached it. */
export interface ThroughputTarget {
  readonly eventsPerSecond: number;
  readonly met: boolean;
}

/** What was read back after a scenario, so its figure is known to be for real, complete writes. */
export interface ReadBack {
  /** Sum over the scenario's streams of the stored head's seq + 1 (every head matched the last event sealed). */
  readonly events: number;
  /** The stream read back in full and verified with `verifyLedger`. */
  readonly verifiedStream: string;
  readonly verifiedEvents: number;
}

/** One storage scenario, measured or skipped. */
export type ThroughputFigure = {
  /** Stable key, for reading one figure back from the JSON. */
  readonly id: string;
  readonly name: string;
  readonly store: 'memory' | 'sqlite' | 'postgres';
  /** Runs (streams) appending at once. */
  readonly runs: number;
  readonly eventsPerAppend: number;
} & (
  | {
      readonly status: 'measured';
      /** Events timed, every run together (warm-up excluded). */
      readonly events: number;
      readonly appends: number;
      readonly seconds: number;
      readonly eventsPerSecond: number;
      readonly appendsPerSecond: number;
      /**
       * CPU time of this process (user + system, every thread) while the clock ran. Over `seconds`
       * it says how busy the client was; a PostgreSQL server's own processes are not in it.
       */
      readonly processCpuSeconds: number;
      /** This figure's events/s over the memory store's, measured in the same run. */
      readonly vsMemory: number | null;
      readonly target: ThroughputTarget | null;
      readonly readBack: ReadBack;
    }
  | { readonly status: 'skipped'; readonly reason: string }
);

/** `verifyLedger` over the memory store's events, on one core (it is synchronous). */
export interface VerificationFigure {
  readonly events: number;
  readonly rounds: number;
  /** Median pass, and the fastest, in seconds. */
  readonly medianSeconds: number;
  readonly minSeconds: number;
  /** Events per second at the median pass. */
  readonly eventsPerSecond: number;
  readonly target: ThroughputTarget;
}

/** Every figure of the ledger storage section. */
export interface LedgerThroughputFigures {
  /** Mean size of an event payload's canonical JSON, in bytes. */
  readonly payloadBytes: number;
  /** Runs appending at once in the concurrent scenarios. */
  readonly concurrentRuns: number;
  readonly figures: readonly ThroughputFigure[];
  readonly verification: VerificationFigure;
  readonly sqlite: { readonly journalMode: 'WAL'; readonly synchronous: 'FULL' };
  readonly postgres: {
    /** The connection string, password removed. */
    readonly url: string;
    readonly schema: string | null;
    /** Server version and durability settings, when it was reached. */
    readonly server: string | null;
    readonly synchronousCommit: string | null;
    readonly fsync: string | null;
    readonly skipped: string | null;
  };
  /** Wall time of the whole section, sealing and read-back included. */
  readonly seconds: number;
}

/** The issue's targets, in events per second. */
export const THROUGHPUT_TARGETS = {
  sqliteBatched: 20_000,
  postgresBatched: 20_000,
  postgresUnbatchedConcurrent: 4_000,
  verifyPerCore: 50_000,
} as const;

/** A store the scenarios can append to and read back from. */
type BenchLedgerStore = LedgerStore & { heads(): Promise<Record<string, ChainHead>> };

interface Scenario {
  readonly id: string;
  readonly name: string;
  readonly store: ThroughputFigure['store'];
  readonly runs: number;
  readonly eventsPerAppend: number;
  readonly events: number;
  readonly target?: number;
}

const TENANT = 'acme';
const ACTOR = 'agent:support-bot@1.0.0';
const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const SPAN_ID = 'b7ad6b7169203331';
const START_MS = Date.parse('2026-11-01T09:00:00.000Z');

/**
 * A tool result of about 500 bytes of canonical JSON, distinct per event (ids, amounts and times
 * change), shaped like what a ticket update returns.
 */
export function ticketResultPayload(stream: string, index: number): Record<string, unknown> {
  return {
    tool: 'tickets.update',
    status: 'ok',
    callId: `call_${stream}_${index.toString(36).padStart(6, '0')}`,
    durationMs: 8 + (index % 90),
    output: {
      ticket: {
        id: `T-${100_000 + index}`,
        title: 'Refund for a duplicate charge on order ord_20260105',
        status: index % 4 === 0 ? 'pending_approval' : 'open',
        priority: index % 3 === 0 ? 'high' : 'normal',
        tags: ['billing', 'refund', 'eu'],
        customer: { id: 'cus_0042', name: 'Zoë Ångström', email: 'zoe.angstrom@example.com' },
        amountCents: 4_990 + (index % 1_000),
        currency: 'EUR',
        note: 'Refunds under $100 are automatic; logged for the weekly billing review.',
        updatedAt: new Date(START_MS + index * 1_000).toISOString(),
      },
    },
  };
}

/** Seals `count` chained events of one stream (untimed: the scenarios measure storage only). */
function sealStream(stream: string, count: number): LedgerEvent[] {
  const events: LedgerEvent[] = [];
  let head: ChainHead | undefined;
  for (let index = 0; index < count; index++) {
    const payload = ticketResultPayload(stream, index);
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: TRACE_ID,
        spanId: SPAN_ID,
        ts: new Date(START_MS + index).toISOString(),
        type: 'tool.result',
        tenant: TENANT,
        actor: ACTOR,
        payload,
      },
      head,
    );
    head = { seq: event.seq, hash: event.hash };
    events.push(event);
  }
  return events;
}

/** Each run's events cut into the arrays passed to `append`, so the timed loop only appends. */
function toAppends(streams: readonly LedgerEvent[][], eventsPerAppend: number): LedgerEvent[][][] {
  return streams.map((events) => {
    const appends: LedgerEvent[][] = [];
    for (let start = 0; start < events.length; start += eventsPerAppend) {
      appends.push(events.slice(start, start + eventsPerAppend));
    }
    return appends;
  });
}

/** Every run appends its batches one after the other, each awaited; the runs go at once. */
async function appendAll(store: LedgerStore, runs: readonly LedgerEvent[][][]): Promise<void> {
  await Promise.all(
    runs.map(async (appends) => {
      for (const batch of appends) await store.append(batch);
    }),
  );
}

/**
 * One scenario: seals the runs' streams (and a small warm-up set on other streams), appends the
 * warm-up the same way, then times appending every event, then reads back: every stream's stored
 * head must be the last event sealed for it (which, the store refusing any event that does not
 * extend its stream, means every event is there), and one stream is read in full and verified.
 */
async function runScenario(
  scenario: Scenario,
  store: BenchLedgerStore,
  memoryEventsPerSecond: number | null,
  keep?: (events: LedgerEvent[]) => void,
): Promise<ThroughputFigure> {
  const { id, runs, eventsPerAppend, events: total } = scenario;
  if (total % runs !== 0 || (total / runs) % eventsPerAppend !== 0) {
    throw new RangeError(
      `[custody-bench] ${id}: ${total} events must split evenly into ${runs} run(s) of ${eventsPerAppend}-event appends`,
    );
  }
  const perRun = total / runs;
  const warmupPerRun = Math.max(
    eventsPerAppend,
    Math.min(perRun, Math.ceil(perRun / 20 / eventsPerAppend) * eventsPerAppend),
  );
  const names = Array.from({ length: runs }, (_, run) => `bench-${id}-${run}`);
  const warmup = toAppends(
    names.map((name) => sealStream(`${name}-warmup`, warmupPerRun)),
    eventsPerAppend,
  );
  const streams = names.map((name) => sealStream(name, perRun));
  const appends = toAppends(streams, eventsPerAppend);
  await appendAll(store, warmup);
  collectGarbage();

  const cpuBefore = process.cpuUsage();
  const started = process.hrtime.bigint();
  await appendAll(store, appends);
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const cpu = process.cpuUsage(cpuBefore);

  const readBack = await checkReadBack(id, store, streams);
  keep?.(streams[0]!);
  const eventsPerSecond = total / seconds;
  return {
    id,
    name: scenario.name,
    store: scenario.store,
    runs,
    eventsPerAppend,
    status: 'measured',
    events: total,
    appends: total / eventsPerAppend,
    seconds,
    eventsPerSecond,
    appendsPerSecond: total / eventsPerAppend / seconds,
    processCpuSeconds: (cpu.user + cpu.system) / 1e6,
    vsMemory: memoryEventsPerSecond === null ? null : eventsPerSecond / memoryEventsPerSecond,
    target:
      scenario.target === undefined
        ? null
        : { eventsPerSecond: scenario.target, met: eventsPerSecond >= scenario.target },
    readBack,
  };
}

async function checkReadBack(
  id: string,
  store: BenchLedgerStore,
  streams: readonly LedgerEvent[][],
): Promise<ReadBack> {
  const fail = (message: string): never => {
    throw new Error(`[custody-bench] ${id}: ${message}`);
  };
  const heads = await store.heads();
  let stored = 0;
  for (const events of streams) {
    const last = events[events.length - 1]!;
    const head = heads[last.stream];
    if (!head || head.seq !== last.seq || head.hash !== last.hash) {
      fail(`stream ${last.stream} should end at seq ${last.seq}, the store has ${JSON.stringify(head)}`);
    }
    stored += head!.seq + 1;
  }
  const expected = streams.reduce((sum, events) => sum + events.length, 0);
  if (stored !== expected) fail(`${expected} events appended, ${stored} stored`);
  const stream = streams[0]![0]!.stream;
  const readEvents = await readAll(store, { stream });
  if (readEvents.length !== streams[0]!.length) {
    fail(`stream ${stream}: ${streams[0]!.length} events appended, ${readEvents.length} read back`);
  }
  const verification = verifyLedger(readEvents);
  if (!verification.ok) fail(`stream ${stream} read back does not verify: ${verification.problem.message}`);
  if (readEvents[readEvents.length - 1]!.hash !== streams[0]![streams[0]!.length - 1]!.hash) {
    fail(`stream ${stream} read back ends on another event`);
  }
  return { events: stored, verifiedStream: stream, verifiedEvents: readEvents.length };
}

function skipped(scenario: Scenario, reason: string): ThroughputFigure {
  const { id, name, store, runs, eventsPerAppend } = scenario;
  return { id, name, store, runs, eventsPerAppend, status: 'skipped', reason };
}

/**
 * Ledger storage throughput: appends per second into the memory store (the baseline), a SQLite
 * file (WAL, synchronous=FULL) and PostgreSQL, one event per append and batched, one run and
 * many at once, with ~500-byte payloads; then `verifyLedger` throughput over the memory store's
 * events. Events are sealed before the clock starts, so the figures are the stores' own. Every
 * scenario is read back (heads of all its streams, one stream in full and verified).
 */
export async function measureLedgerThroughput(
  options: LedgerThroughputOptions,
  log: (message: string) => void = () => {},
): Promise<LedgerThroughputFigures> {
  const started = process.hrtime.bigint();
  const { concurrentRuns: many, batchSize: batch } = options;
  const single = (events: number) => `1 run, ${events === 1 ? 'one event' : `${events} events`} per append`;
  const concurrent = (events: number) =>
    `${many} runs at once, ${events === 1 ? 'one event' : `${events} events`} per append`;
  const scenarios = {
    memory: {
      id: 'memory-single',
      name: `memory, ${single(1)}`,
      store: 'memory',
      runs: 1,
      eventsPerAppend: 1,
      events: options.memoryEvents,
    },
    sqliteSingle: {
      id: 'sqlite-single',
      name: `SQLite, ${single(1)}`,
      store: 'sqlite',
      runs: 1,
      eventsPerAppend: 1,
      events: options.sqliteSingleEvents,
    },
    sqliteBatched: {
      id: 'sqlite-batched',
      name: `SQLite, ${single(batch)}`,
      store: 'sqlite',
      runs: 1,
      eventsPerAppend: batch,
      events: options.sqliteBatchedEvents,
      target: THROUGHPUT_TARGETS.sqliteBatched,
    },
    sqliteConcurrent: {
      id: 'sqlite-concurrent',
      name: `SQLite, ${concurrent(1)}`,
      store: 'sqlite',
      runs: many,
      eventsPerAppend: 1,
      events: options.sqliteConcurrentEvents,
    },
    postgresSingle: {
      id: 'postgres-single',
      name: `PostgreSQL, ${single(1)}`,
      store: 'postgres',
      runs: 1,
      eventsPerAppend: 1,
      events: options.postgresSingleEvents,
    },
    postgresBatched: {
      id: 'postgres-batched',
      name: `PostgreSQL, ${single(batch)}`,
      store: 'postgres',
      runs: 1,
      eventsPerAppend: batch,
      events: options.postgresBatchedEvents,
    },
    postgresConcurrent: {
      id: 'postgres-concurrent',
      name: `PostgreSQL, ${concurrent(1)}`,
      store: 'postgres',
      runs: many,
      eventsPerAppend: 1,
      events: options.postgresConcurrentEvents,
      target: THROUGHPUT_TARGETS.postgresUnbatchedConcurrent,
    },
    postgresConcurrentBatched: {
      id: 'postgres-concurrent-batched',
      name: `PostgreSQL, ${concurrent(batch)}`,
      store: 'postgres',
      runs: many,
      eventsPerAppend: batch,
      events: options.postgresConcurrentBatchedEvents,
      target: THROUGHPUT_TARGETS.postgresBatched,
    },
  } satisfies Record<string, Scenario>;
  const figures: ThroughputFigure[] = [];
  const rate = (figure: ThroughputFigure) => (figure.status === 'measured' ? figure.eventsPerSecond : null);

  log(`ledger throughput: memory store, ${options.memoryEvents.toLocaleString('en-US')} events …`);
  let verifyEvents: LedgerEvent[] = [];
  const memory = await runScenario(scenarios.memory, new InMemoryLedgerStore(), null, (events) => {
    verifyEvents = events;
  });
  const memoryRate = rate(memory)!;
  figures.push({ ...memory, vsMemory: 1 } as ThroughputFigure);
  const payloadBytes =
    verifyEvents.reduce((sum, event) => sum + Buffer.byteLength(canonicalize(event.payload)), 0) /
    verifyEvents.length;
  collectGarbage();

  log('ledger throughput: verifyLedger …');
  const verification = measureVerification(verifyEvents, options.verifyRounds);
  verifyEvents = [];
  collectGarbage();

  const folder = mkdtempSync(join(tmpdir(), 'custody-bench-ledger-'));
  try {
    for (const scenario of [scenarios.sqliteSingle, scenarios.sqliteBatched, scenarios.sqliteConcurrent]) {
      log(`ledger throughput: ${scenario.name}, ${scenario.events.toLocaleString('en-US')} events …`);
      // A fresh file per scenario, so none starts with another's rows and WAL.
      const store = createSqliteLedgerStore({ path: join(folder, `${scenario.id}.db`) });
      try {
        figures.push(await runScenario(scenario, store, memoryRate));
      } finally {
        await store.close();
      }
      collectGarbage();
    }
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }

  const postgresScenarios = [
    scenarios.postgresSingle,
    scenarios.postgresBatched,
    scenarios.postgresConcurrent,
    scenarios.postgresConcurrentBatched,
  ];
  const url = options.postgresUrl;
  log(`ledger throughput: PostgreSQL at ${redactUrl(url)} …`);
  const probe = await probePostgres(url);
  let schema: string | null = null;
  let skippedReason: string | null = null;
  if (typeof probe === 'string') {
    skippedReason = `PostgreSQL at ${redactUrl(url)} is unreachable (${probe}); start it or set CUSTODY_BENCH_POSTGRES_URL`;
    for (const scenario of postgresScenarios) figures.push(skipped(scenario, skippedReason));
  } else {
    schema = freshSchemaName();
    let stores: PostgresStores | undefined;
    try {
      stores = createPostgresStores({ connectionString: url, schema });
      try {
        await stores.migrate();
      } catch (error) {
        skippedReason = `could not create schema ${schema} at ${redactUrl(url)} (${error instanceof Error ? error.message : String(error)})`;
      }
      if (skippedReason !== null) {
        for (const scenario of postgresScenarios) figures.push(skipped(scenario, skippedReason));
      } else {
        for (const scenario of postgresScenarios) {
          log(`ledger throughput: ${scenario.name}, ${scenario.events.toLocaleString('en-US')} events …`);
          figures.push(await runScenario(scenario, stores.ledger, memoryRate));
          collectGarbage();
        }
      }
    } finally {
      await stores?.close().catch(() => {});
      await dropSchema(url, schema);
    }
  }

  return {
    payloadBytes,
    concurrentRuns: many,
    figures,
    verification,
    sqlite: { journalMode: 'WAL', synchronous: 'FULL' },
    postgres: {
      url: redactUrl(url),
      schema,
      server: typeof probe === 'string' ? null : probe.server,
      synchronousCommit: typeof probe === 'string' ? null : probe.synchronousCommit,
      fsync: typeof probe === 'string' ? null : probe.fsync,
      skipped: skippedReason,
    },
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
  };
}

/**
 * `verifyLedger` over `events` (one stream), timed pass by pass after one untimed pass over a
 * tenth of them; reports the median pass. It runs on the main thread only: one core.
 */
function measureVerification(events: readonly LedgerEvent[], rounds: number): VerificationFigure {
  const warm = verifyLedger(events.slice(0, Math.ceil(events.length / 10)));
  if (!warm.ok) throw new Error(`[custody-bench] verification warm-up failed: ${warm.problem.message}`);
  const samples: number[] = [];
  for (let round = 0; round < rounds; round++) {
    collectGarbage();
    const started = process.hrtime.bigint();
    const result = verifyLedger(events);
    samples.push(Number(process.hrtime.bigint() - started) / 1e9);
    if (!result.ok || result.events !== events.length) {
      throw new Error(
        `[custody-bench] the ledger should verify: ${result.ok ? `${result.events} events` : result.problem.message}`,
      );
    }
  }
  samples.sort((a, b) => a - b);
  const medianSeconds = samples[Math.floor((samples.length - 1) / 2)]!;
  const eventsPerSecond = events.length / medianSeconds;
  return {
    events: events.length,
    rounds,
    medianSeconds,
    minSeconds: samples[0]!,
    eventsPerSecond,
    target: {
      eventsPerSecond: THROUGHPUT_TARGETS.verifyPerCore,
      met: eventsPerSecond >= THROUGHPUT_TARGETS.verifyPerCore,
    },
  };
}
