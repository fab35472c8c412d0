// `pnpm bench`: measures the gate's per-call overhead against a direct await, with no-op and with
// SDK telemetry, against one Vercel AI SDK tool step, the hot-path pieces, replaying and exporting
// a 100-step bundle, and ledger storage throughput (memory, SQLite, PostgreSQL, verification);
// prints tables and writes the raw figures to results/latest.json.
// Reporting only: nothing here asserts a time.
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { measureAiSdkToolStep } from './ai-sdk-tool-step.js';
import { measureGatedCalls } from './gated-call.js';
import { measureHotPath } from './hot-path.js';
import { measureLedgerThroughput } from './ledger-throughput.js';
import { collectGarbage } from './measure.js';
import { measureReplayBundle } from './replay-bundle.js';
import { type BenchReport, formatReport, type Overhead, overheadOf, ratioOf, writeReport } from './report.js';
import { measureWithSdkTelemetryInChild } from './sdk-telemetry.js';

const SETTINGS = {
  /** Gated and direct calls per measurement (ours). */
  iterations: 20_000,
  warmup: 5_000,
  /** A fresh runtime and run every this many gated calls (memory stays bounded, like real runs). */
  callsPerRun: 1_000,
  /**
   * Rounds of the gate's and the peer's timings; each figure is the median round's, so one slow
   * or fast stretch of the machine does not decide the ratio.
   */
  rounds: 3,
  /** generateText calls per measurement (the peer). */
  peerIterations: 2_000,
  peerWarmup: 500,
  /** Events in the ledger verifyLedger checks. */
  ledgerEvents: 10_000,
  /** Door uses of the run that is replayed and exported. */
  replaySteps: 100,
  /** Replays (and bundle exports) timed, after warm-up ones. */
  replayIterations: 60,
  replayWarmup: 10,
  /**
   * Ledger storage throughput: events appended per scenario (every run together), sized so the
   * section stays under ~60 s on 2 cores. The memory store's events are also the ones verified.
   */
  throughputMemoryEvents: 100_000,
  throughputSqliteSingleEvents: 2_000,
  throughputSqliteBatchedEvents: 50_000,
  throughputSqliteConcurrentEvents: 8_000,
  throughputPostgresSingleEvents: 1_000,
  throughputPostgresBatchedEvents: 20_000,
  throughputPostgresConcurrentEvents: 8_000,
  throughputPostgresConcurrentBatchedEvents: 32_000,
  /** Runs appending at once in the concurrent scenarios, and events per append when batched. */
  throughputConcurrentRuns: 16,
  throughputBatchSize: 100,
  /** Timed verifyLedger passes over the memory store's events (median reported). */
  throughputVerifyRounds: 3,
} as const;

/** The PostgreSQL the ledger throughput section writes to (in a fresh schema, dropped afterwards). */
const POSTGRES_URL = process.env.CUSTODY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const RESULTS = fileURLToPath(new URL('../results/latest.json', import.meta.url));

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

const started = Date.now();
const loadAtStart = loadavg()[0] ?? 0;
const gcBetweenPhases = collectGarbage();
const gated = {
  iterations: SETTINGS.iterations,
  warmup: SETTINGS.warmup,
  callsPerRun: SETTINGS.callsPerRun,
  rounds: SETTINGS.rounds,
};

log('gated calls, no-op telemetry …');
const noopTelemetry = await measureGatedCalls(gated);
collectGarbage();

log('gated calls, OpenTelemetry SDK (child process) …');
const sdkTelemetry = await measureWithSdkTelemetryInChild(gated);
collectGarbage();

log('AI SDK generateText, with and without a tool step …');
const aiSdk = await measureAiSdkToolStep({
  iterations: SETTINGS.peerIterations,
  warmup: SETTINGS.peerWarmup,
  rounds: SETTINGS.rounds,
});
collectGarbage();

log('hot-path pieces …');
const hotPath = await measureHotPath({ ledgerEvents: SETTINGS.ledgerEvents });
collectGarbage();

log(`replay and bundle export of a ${SETTINGS.replaySteps}-step run …`);
const replayBundle = await measureReplayBundle({
  steps: SETTINGS.replaySteps,
  iterations: SETTINGS.replayIterations,
  warmup: SETTINGS.replayWarmup,
});
collectGarbage();

log('ledger storage throughput …');
const ledgerThroughput = await measureLedgerThroughput(
  {
    memoryEvents: SETTINGS.throughputMemoryEvents,
    sqliteSingleEvents: SETTINGS.throughputSqliteSingleEvents,
    sqliteBatchedEvents: SETTINGS.throughputSqliteBatchedEvents,
    sqliteConcurrentEvents: SETTINGS.throughputSqliteConcurrentEvents,
    postgresSingleEvents: SETTINGS.throughputPostgresSingleEvents,
    postgresBatchedEvents: SETTINGS.throughputPostgresBatchedEvents,
    postgresConcurrentEvents: SETTINGS.throughputPostgresConcurrentEvents,
    postgresConcurrentBatchedEvents: SETTINGS.throughputPostgresConcurrentBatchedEvents,
    concurrentRuns: SETTINGS.throughputConcurrentRuns,
    batchSize: SETTINGS.throughputBatchSize,
    verifyRounds: SETTINGS.throughputVerifyRounds,
    postgresUrl: POSTGRES_URL,
  },
  (message) => log(`  ${message}`),
);

const peer = overheadOf('AI SDK: one tool step (peer)', aiSdk.withTools, aiSdk.withoutTools);
const ours = [
  overheadOf('Custody write gate, no-op telemetry', noopTelemetry.gatedWrite, noopTelemetry.directWrite),
  overheadOf('Custody read gate, no-op telemetry', noopTelemetry.gatedRead, noopTelemetry.directRead),
  overheadOf('Custody write gate, OpenTelemetry SDK', sdkTelemetry.gatedWrite, sdkTelemetry.directWrite),
  overheadOf('Custody read gate, OpenTelemetry SDK', sdkTelemetry.gatedRead, sdkTelemetry.directRead),
];
const overheads: Overhead[] = [
  ...ours.map((o) => ({ ...o, peerRatio: ratioOf(peer.medianUs, o.medianUs) })),
  { ...peer, peerRatio: 1 },
];

const cpuList = cpus();
const report: BenchReport = {
  generatedAt: new Date().toISOString(),
  environment: {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    cpus: cpuList.length,
    cpuModel: cpuList[0]?.model.trim() ?? 'unknown',
    gcBetweenPhases,
    loadAverage: { start: loadAtStart, end: loadavg()[0] ?? 0 },
  },
  settings: SETTINGS,
  overheads,
  headlineRatio: overheads[0]!.peerRatio,
  noopTelemetry,
  sdkTelemetry,
  aiSdk,
  hotPath,
  replay: replayBundle,
  ledgerThroughput,
};
await writeReport(RESULTS, report);

process.stdout.write(`\n${formatReport(report)}\n\n`);
log(`raw figures in ${RESULTS}; took ${((Date.now() - started) / 1000).toFixed(1)} s`);
