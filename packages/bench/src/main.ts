// `pnpm bench [part …]`: measures the gate's per-call overhead against a direct await, with no-op
// and with SDK telemetry, against one Vercel AI SDK tool step (part `gate`), the hot-path pieces
// (`hot-path`), replaying and exporting a 100-step bundle (`replay`), ledger storage throughput
// (`ledger`), and gated calls on SQLite and PostgreSQL against each engine's raw commit, with
// fsyncs per call (`durable`); no part named runs them all. Prints tables and writes the raw
// figures to results/latest.json (results/latest-<parts>.json for a selection).
// Reporting only: nothing here asserts a time.
import { cpus, loadavg } from 'node:os';
import { fileURLToPath } from 'node:url';
import { type AiSdkToolStepFigures, measureAiSdkToolStep } from './ai-sdk-tool-step.js';
import { type DurableGateFigures, measureDurableGate } from './durable-gate.js';
import { countSqliteFsyncs, type FsyncFigures } from './fsync-count.js';
import { type GatedCallFigures, measureGatedCalls } from './gated-call.js';
import { type HotPathFigures, measureHotPath } from './hot-path.js';
import { type LedgerThroughputFigures, measureLedgerThroughput } from './ledger-throughput.js';
import { collectGarbage } from './measure.js';
import { measureReplayBundle, type ReplayBundleFigures } from './replay-bundle.js';
import {
  BENCH_PARTS,
  type BenchPart,
  type BenchReport,
  formatReport,
  type Overhead,
  overheadOf,
  ratioOf,
  writeReport,
} from './report.js';
import { measureWithSdkTelemetryInChild, type SdkTelemetryFigures } from './sdk-telemetry.js';

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
  /**
   * Durable gate: rounds of lone calls (each round times a raw commit, a gated write and a gated
   * read, that many calls each after the warm-up ones), per engine.
   */
  durableRounds: 5,
  durableLoneCalls: 300,
  durableLoneWarmup: 30,
  /** Runs writing at once, and rounds of a timed window after an untimed warm-up, per engine. */
  durableConcurrentRuns: 16,
  durableConcurrentRounds: 3,
  durableConcurrentWarmupMs: 500,
  durableConcurrentWindowMs: 2_000,
  /** Lone calls of each kind counted under strace (after the warm-up ones). */
  fsyncCalls: 200,
  fsyncWarmup: 20,
} as const;

/** The PostgreSQL the ledger throughput section writes to (in a fresh schema, dropped afterwards). */
const POSTGRES_URL = process.env.CUSTODY_BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/test';

const log = (message: string) => process.stderr.write(`[bench] ${message}\n`);

/** The parts named on the command line (`pnpm bench durable ledger`), or every part. */
function selectedParts(args: readonly string[]): readonly BenchPart[] {
  const named = args.filter((arg) => arg !== '--');
  const unknown = named.filter((arg) => !(BENCH_PARTS as readonly string[]).includes(arg));
  if (unknown.length > 0) {
    process.stderr.write(
      `[bench] unknown part ${unknown.map((arg) => `"${arg}"`).join(', ')}; the parts are ${BENCH_PARTS.join(', ')} ` +
        '(name none to run them all)\n',
    );
    process.exit(2);
  }
  return named.length === 0 ? BENCH_PARTS : BENCH_PARTS.filter((part) => named.includes(part));
}

const parts = selectedParts(process.argv.slice(2));
const runs = (part: BenchPart) => parts.includes(part);
const RESULTS = fileURLToPath(
  new URL(
    parts.length === BENCH_PARTS.length
      ? '../results/latest.json'
      : `../results/latest-${parts.join('+')}.json`,
    import.meta.url,
  ),
);

const started = Date.now();
const loadAtStart = loadavg()[0] ?? 0;
const gcBetweenPhases = collectGarbage();
const gated = {
  iterations: SETTINGS.iterations,
  warmup: SETTINGS.warmup,
  callsPerRun: SETTINGS.callsPerRun,
  rounds: SETTINGS.rounds,
};

let noopTelemetry: GatedCallFigures | undefined;
let sdkTelemetry: SdkTelemetryFigures | undefined;
let aiSdk: AiSdkToolStepFigures | undefined;
if (runs('gate')) {
  log('gated calls, no-op telemetry …');
  noopTelemetry = await measureGatedCalls(gated);
  collectGarbage();

  log('gated calls, OpenTelemetry SDK (child process) …');
  sdkTelemetry = await measureWithSdkTelemetryInChild(gated);
  collectGarbage();

  log('AI SDK generateText, with and without a tool step …');
  aiSdk = await measureAiSdkToolStep({
    iterations: SETTINGS.peerIterations,
    warmup: SETTINGS.peerWarmup,
    rounds: SETTINGS.rounds,
  });
  collectGarbage();
}

let hotPath: HotPathFigures | undefined;
if (runs('hot-path')) {
  log('hot-path pieces …');
  hotPath = await measureHotPath({ ledgerEvents: SETTINGS.ledgerEvents });
  collectGarbage();
}

let replayBundle: ReplayBundleFigures | undefined;
if (runs('replay')) {
  log(`replay and bundle export of a ${SETTINGS.replaySteps}-step run …`);
  replayBundle = await measureReplayBundle({
    steps: SETTINGS.replaySteps,
    iterations: SETTINGS.replayIterations,
    warmup: SETTINGS.replayWarmup,
  });
  collectGarbage();
}

let ledgerThroughput: LedgerThroughputFigures | undefined;
if (runs('ledger')) {
  log('ledger storage throughput …');
  ledgerThroughput = await measureLedgerThroughput(
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
  collectGarbage();
}

let durableGate: DurableGateFigures | undefined;
let fsync: FsyncFigures | undefined;
if (runs('durable')) {
  log('gated calls on durable stores …');
  durableGate = await measureDurableGate(
    {
      rounds: SETTINGS.durableRounds,
      loneCalls: SETTINGS.durableLoneCalls,
      loneWarmup: SETTINGS.durableLoneWarmup,
      concurrentRuns: SETTINGS.durableConcurrentRuns,
      concurrentRounds: SETTINGS.durableConcurrentRounds,
      concurrentWarmupMs: SETTINGS.durableConcurrentWarmupMs,
      concurrentWindowMs: SETTINGS.durableConcurrentWindowMs,
      postgresUrl: POSTGRES_URL,
    },
    (message) => log(`  ${message}`),
  );
  collectGarbage();
  log('fsyncs per call on SQLite (child process under strace) …');
  fsync = await countSqliteFsyncs({ calls: SETTINGS.fsyncCalls, warmup: SETTINGS.fsyncWarmup });
}

let overheads: Overhead[] | undefined;
if (noopTelemetry && sdkTelemetry && aiSdk) {
  const peer = overheadOf('AI SDK: one tool step (peer)', aiSdk.withTools, aiSdk.withoutTools);
  const ours = [
    overheadOf('Custody write gate, no-op telemetry', noopTelemetry.gatedWrite, noopTelemetry.directWrite),
    overheadOf('Custody read gate, no-op telemetry', noopTelemetry.gatedRead, noopTelemetry.directRead),
    overheadOf('Custody write gate, OpenTelemetry SDK', sdkTelemetry.gatedWrite, sdkTelemetry.directWrite),
    overheadOf('Custody read gate, OpenTelemetry SDK', sdkTelemetry.gatedRead, sdkTelemetry.directRead),
  ];
  overheads = [
    ...ours.map((o) => ({ ...o, peerRatio: ratioOf(peer.medianUs, o.medianUs) })),
    { ...peer, peerRatio: 1 },
  ];
}

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
  parts,
  settings: SETTINGS,
  overheads,
  headlineRatio: overheads?.[0]?.peerRatio,
  noopTelemetry,
  sdkTelemetry,
  aiSdk,
  hotPath,
  replay: replayBundle,
  ledgerThroughput,
  durableGate,
  fsync,
};
await writeReport(RESULTS, report);

process.stdout.write(`\n${formatReport(report)}\n\n`);
log(`raw figures in ${RESULTS}; took ${((Date.now() - started) / 1000).toFixed(1)} s`);
