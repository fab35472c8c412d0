import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AiSdkToolStepFigures } from './ai-sdk-tool-step.js';
import { DURABLE_GATE_TARGETS, type DurableEngineFigures, type DurableGateFigures } from './durable-gate.js';
import type { FsyncFigures, FsyncPerCall } from './fsync-count.js';
import type { GatedCallFigures } from './gated-call.js';
import type { HotPathFigures } from './hot-path.js';
import {
  type LedgerThroughputFigures,
  THROUGHPUT_TARGETS,
  type ThroughputTarget,
} from './ledger-throughput.js';
import { type Spread, spreadOf, type Timing } from './measure.js';
import type { ReplayBundleFigures } from './replay-bundle.js';
import type { SdkTelemetryFigures } from './sdk-telemetry.js';

/** What one overhead is: a measured call minus its baseline, at the median and at p99. */
export interface Overhead {
  readonly name: string;
  readonly medianUs: number;
  readonly p99Us: number;
  /** Peer tool-step median divided by this median: how many times cheaper this is. */
  readonly peerRatio: number | null;
}

/** The parts `pnpm bench` can run; `pnpm bench durable` (say) runs only those named. */
export const BENCH_PARTS = ['gate', 'hot-path', 'replay', 'ledger', 'durable'] as const;
export type BenchPart = (typeof BENCH_PARTS)[number];

/** Everything one `pnpm bench` measured, as written to `results/`; a part not run leaves its fields out. */
export interface BenchReport {
  readonly generatedAt: string;
  readonly environment: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly gcBetweenPhases: boolean;
    /** 1-minute load average when the run started and when it ended: other work skews every figure. */
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  /** The parts this run measured. */
  readonly parts: readonly BenchPart[];
  readonly settings: Readonly<Record<string, number>>;
  /** Part `gate`. */
  readonly overheads?: readonly Overhead[];
  /** Peer per-tool-step median over Custody's write-gate median (no-op telemetry). */
  readonly headlineRatio?: number | null;
  readonly noopTelemetry?: GatedCallFigures;
  readonly sdkTelemetry?: SdkTelemetryFigures;
  readonly aiSdk?: AiSdkToolStepFigures;
  /** Part `hot-path`. */
  readonly hotPath?: HotPathFigures;
  /** Part `replay`. */
  readonly replay?: ReplayBundleFigures;
  /** Part `ledger`. */
  readonly ledgerThroughput?: LedgerThroughputFigures;
  /** Part `durable`. */
  readonly durableGate?: DurableGateFigures;
  readonly fsync?: FsyncFigures;
}

/** `measured` minus `baseline`, median from medians and p99 from p99s. */
export function overheadOf(name: string, measured: Timing, baseline: Timing): Omit<Overhead, 'peerRatio'> {
  return {
    name,
    medianUs: measured.medianUs - baseline.medianUs,
    p99Us: measured.p99Us - baseline.p99Us,
  };
}

/** How many times `peerUs` is `oursUs`; null when ours is too small to divide by meaningfully. */
export function ratioOf(peerUs: number, oursUs: number): number | null {
  return oursUs > 0.01 ? peerUs / oursUs : null;
}

/** The report as readable text tables: the parts that ran, then the issue's targets. */
export function formatReport(report: BenchReport): string {
  const env = report.environment;
  const lines: string[] = [
    `Custody benchmark — node ${env.node}, ${env.platform}, ${env.cpus} CPU(s) (${env.cpuModel}), ` +
      `GC between phases: ${env.gcBetweenPhases ? 'yes' : 'no (not available)'}, ` +
      `load average ${env.loadAverage.start.toFixed(2)} → ${env.loadAverage.end.toFixed(2)}; ` +
      `parts: ${report.parts.join(', ')}`,
    ...(Math.max(env.loadAverage.start, env.loadAverage.end) > env.cpus / 2
      ? ['WARNING: the machine was busy with other work during this run; p99s (and medians) are inflated.']
      : []),
  ];
  const sections: string[][] = [];
  if (report.noopTelemetry && report.sdkTelemetry && report.aiSdk && report.overheads) {
    sections.push(
      formatGate(report, report.noopTelemetry, report.sdkTelemetry, report.aiSdk, report.overheads),
    );
  }
  if (report.hotPath) sections.push(formatHotPath(report, report.hotPath));
  if (report.replay) sections.push(formatReplay(report.replay));
  if (report.ledgerThroughput) sections.push(formatLedgerThroughput(report.ledgerThroughput));
  if (report.durableGate) sections.push(formatDurableGate(report.durableGate, report.fsync));
  if (report.durableGate || report.overheads) sections.push(formatIssueTargets(report));
  for (const section of sections) lines.push('', ...section);
  return lines.join('\n');
}

/** The gate's per-call timings and overheads against the AI SDK tool step. */
function formatGate(
  report: BenchReport,
  noop: GatedCallFigures,
  sdk: SdkTelemetryFigures,
  aiSdk: AiSdkToolStepFigures,
  overheads: readonly Overhead[],
): string[] {
  const lines: string[] = ['Measured calls (µs per call, each call timed on its own)'];
  const timingRows = (label: string, timing: Timing) => [
    label,
    us(timing.medianUs),
    us(timing.p99Us),
    us(timing.meanUs),
    timing.iterations.toLocaleString('en-US'),
  ];
  lines.push(
    table(
      ['call', 'median', 'p99', 'mean', 'calls'],
      [
        timingRows('direct await, write tool', noop.directWrite),
        timingRows('run.call write, no-op telemetry', noop.gatedWrite),
        timingRows('direct await, read tool', noop.directRead),
        timingRows('run.call read, no-op telemetry', noop.gatedRead),
        timingRows('direct await, write tool (SDK process)', sdk.directWrite),
        timingRows('run.call write, OpenTelemetry SDK', sdk.gatedWrite),
        timingRows('direct await, read tool (SDK process)', sdk.directRead),
        timingRows('run.call read, OpenTelemetry SDK', sdk.gatedRead),
        timingRows('AI SDK generateText, text only', aiSdk.withoutTools),
        timingRows('AI SDK generateText, one tool step', aiSdk.withTools),
      ],
    ),
    '',
    'Per-call overhead (µs): gated minus direct; AI SDK: with tool step minus without',
    table(
      ['overhead', 'median', 'p99', 'AI SDK step / this'],
      overheads.map((o) => [
        o.name,
        us(o.medianUs),
        us(o.p99Us),
        o.peerRatio === null ? 'n/a' : `${o.peerRatio.toFixed(1)}×`,
      ]),
    ),
    '',
    `Median round of ${noop.roundOverheadsUs.write.length}; overheads per round (µs): ` +
      `write gate ${roundList(noop.roundOverheadsUs.write)}, read gate ${roundList(noop.roundOverheadsUs.read)}, ` +
      `with the SDK ${roundList(sdk.roundOverheadsUs.write)} / ${roundList(sdk.roundOverheadsUs.read)}, ` +
      `AI SDK tool step ${roundList(aiSdk.roundToolStepsUs)}.`,
    `Ledger events per gated call: write ${noop.eventsPerWrite}, read ${noop.eventsPerRead}. ` +
      `Spans recorded by the SDK phase: ${sdk.spansRecorded.toLocaleString('en-US')}.`,
  );
  const write = overheads[0];
  const peer = overheads[overheads.length - 1];
  const guard = memoryGateGuard(report);
  if (write && peer && guard) {
    lines.push(
      `Custody gate is ${guard.ratio.toFixed(1)}× cheaper than one AI SDK tool step ` +
        `(write gate ${us(write.medianUs)} µs vs tool step ${us(peer.medianUs)} µs, medians); ` +
        `guard ≥ ${DURABLE_GATE_TARGETS.memoryGateVsToolStep}×: ${guard.met ? 'PASS' : 'MISS'}.`,
    );
  } else {
    lines.push('Custody gate overhead is below the resolution of this measurement; no ratio printed.');
  }
  return lines;
}

/** The hot-path table, and what share of the write gate sealing takes when the gate ran too. */
function formatHotPath(report: BenchReport, hotPath: HotPathFigures): string[] {
  const lines = [
    `Hot-path pieces (µs per operation; payload ${hotPath.payloadBytes} B). "rounds": many operations per ` +
      'sample, GC included in the median; "per call": timed one by one like the gate.',
    table(
      ['piece', 'timed', 'median', 'p99', 'per second', 'where it sits'],
      hotPath.figures.map((f) => [
        f.timing.name,
        f.method,
        us(f.timing.medianUs),
        us(f.timing.p99Us),
        `${Math.round(f.perSecond).toLocaleString('en-US')} ${f.unit}s/s`,
        f.note,
      ]),
      [0, 1, 5],
    ),
  ];
  const write = report.overheads?.[0];
  const sealWrite = hotPath.figures.find((figure) => figure.id === 'seal-write');
  const hashWrite = hotPath.figures.find((figure) => figure.id === 'hash-write');
  if (write && sealWrite && write.medianUs > 0) {
    const share = (sealWrite.timing.medianUs / write.medianUs) * 100;
    lines.push(
      `Sealing the 4 ledger events of one write takes ${us(sealWrite.timing.medianUs)} µs, ` +
        `≈ ${share.toFixed(0)}% of the write gate's median overhead` +
        (hashWrite
          ? `; the SHA-256 digests of one write alone take ${us(hashWrite.timing.medianUs)} µs.`
          : '.'),
    );
  }
  return lines;
}

/**
 * The in-memory guard: one AI SDK tool step over the in-memory write gate's overhead (medians of
 * the median rounds), and the same per round (gate round i against peer round i).
 */
function memoryGateGuard(
  report: BenchReport,
): { readonly ratio: number; readonly rounds: Spread | null; readonly met: boolean } | null {
  const ratio = report.headlineRatio;
  if (ratio === null || ratio === undefined || !report.noopTelemetry || !report.aiSdk) return null;
  const gate = report.noopTelemetry.roundOverheadsUs.write;
  const peer = report.aiSdk.roundToolStepsUs;
  const paired = gate.map((g, i) => (g > 0.01 && peer[i] !== undefined ? peer[i]! / g : null));
  const rounds = paired.every((value) => value !== null) ? spreadOf(paired as number[]) : null;
  return { ratio, rounds, met: ratio >= DURABLE_GATE_TARGETS.memoryGateVsToolStep };
}

/** The ledger storage section: events per second per store and scenario, against the issue's targets. */
function formatLedgerThroughput(ledger: LedgerThroughputFigures): string[] {
  const { postgres, verification } = ledger;
  const target = (goal: ThroughputTarget | null) =>
    goal === null ? ['', ''] : [`≥ ${count(goal.eventsPerSecond)}`, goal.met ? 'met' : 'not met'];
  const rows: string[][] = [];
  const skippedLines: string[] = [];
  const reasons = new Set<string>();
  for (const figure of ledger.figures) {
    if (figure.status === 'skipped') {
      skippedLines.push(`  skipped: ${figure.name}`);
      reasons.add(figure.reason);
      continue;
    }
    rows.push([
      figure.name,
      count(figure.events),
      figure.seconds.toFixed(2),
      count(figure.eventsPerSecond),
      count(figure.appendsPerSecond),
      `${Math.round((figure.processCpuSeconds / figure.seconds) * 100)}%`,
      figure.vsMemory === null ? 'n/a' : vsMemory(figure.vsMemory),
      ...target(figure.target),
    ]);
  }
  rows.push([
    `verifyLedger, 1 core (median of ${verification.rounds} passes)`,
    count(verification.events),
    verification.medianSeconds.toFixed(2),
    count(verification.eventsPerSecond),
    '',
    '',
    '',
    ...target(verification.target),
  ]);
  const server = postgres.server
    ? `${postgres.server} at ${postgres.url} (synchronous_commit=${postgres.synchronousCommit}, fsync=${postgres.fsync}; ` +
      `schema ${postgres.schema}, dropped afterwards)`
    : `PostgreSQL at ${postgres.url}: not reached`;
  const measured = ledger.figures.filter((figure) => figure.status === 'measured');
  return [
    `Ledger storage throughput (events per second, wall clock over a fixed count; payloads ` +
      `${ledger.payloadBytes.toFixed(0)} B of canonical JSON on average; events sealed before the clock starts)`,
    `  SQLite: a fresh temporary file per scenario, journal_mode=${ledger.sqlite.journalMode}, ` +
      `synchronous=${ledger.sqlite.synchronous}. ${server}.`,
    table(
      [
        'scenario',
        'events',
        'seconds',
        'events/s',
        'appends/s',
        'bench CPU',
        'vs memory',
        'target',
        'result',
      ],
      rows,
      [0, 8],
    ),
    ...skippedLines,
    ...[...reasons].map((reason) => `  (skipped because ${reason})`),
    `Read back after each scenario: every stream's stored head is the last event sealed for it ` +
      `(${count(measured.reduce((sum, figure) => sum + figure.readBack.events, 0))} timed events in all), ` +
      'and one stream per scenario was read in full and verified. "bench CPU": this process\'s CPU time ' +
      'over the wall time (100% = one core busy); a local PostgreSQL server uses the other cores on top.',
    `Targets (from the issue): SQLite batched ≥ ${count(THROUGHPUT_TARGETS.sqliteBatched)} events/s; PostgreSQL ` +
      `at ${ledger.concurrentRuns} concurrent runs ≥ ${count(THROUGHPUT_TARGETS.postgresBatched)} batched and ` +
      `≥ ${count(THROUGHPUT_TARGETS.postgresUnbatchedConcurrent)} unbatched; verifyLedger ≥ ` +
      `${count(THROUGHPUT_TARGETS.verifyPerCore)} events/s per core. The section took ${ledger.seconds.toFixed(1)} s.`,
  ];
}

/** The durable gate section: lone calls against the raw commit, 16 runs at once, fsyncs per call. */
function formatDurableGate(durable: DurableGateFigures, fsync: FsyncFigures | undefined): string[] {
  const o = durable.options;
  const engines = [durable.sqlite, durable.postgres];
  const measured = engines.filter(
    (engine): engine is Extract<DurableEngineFigures, { status: 'measured' }> => engine.status === 'measured',
  );
  const server = durable.postgresServer.server
    ? `${durable.postgresServer.server.server} at ${durable.postgresServer.url} (synchronous_commit=` +
      `${durable.postgresServer.server.synchronousCommit}, fsync=${durable.postgresServer.server.fsync}; ` +
      `schema ${durable.postgresServer.schema}, dropped afterwards)`
    : `PostgreSQL at ${durable.postgresServer.url}: not reached`;
  const lines = [
    "Gated calls on durable stores (issue 9), against the same engine's raw commit measured in this run",
    `  SQLite: createSqliteStores on a fresh file in a fresh temporary folder (deleted afterwards). ${server}.`,
    ...measured.map((engine) => `  raw commit, ${engine.rawCommit}.`),
    `Lone calls, one at a time (µs; each cell the median of ${o.loneCalls.toLocaleString('en-US')} calls after ` +
      `${o.loneWarmup} warm-up, median round of ${o.rounds}, range over rounds in brackets; each round times ` +
      'raw commit, gated write, gated read back to back)',
    table(
      [
        'engine',
        'raw commit',
        'gated write',
        'gated read',
        'write / raw',
        'read / raw',
        'events per write / read',
      ],
      engines.map((engine) =>
        engine.status === 'skipped'
          ? [engine.name, 'skipped', '', '', '', '', '']
          : [
              engine.name,
              spread(engine.rawCommitUs, us),
              spread(engine.gatedWriteUs, us),
              spread(engine.gatedReadUs, us),
              spread(engine.writeRatio, times),
              spread(engine.readRatio, times),
              `${trim(engine.eventsPerWrite)} / ${trim(engine.eventsPerRead)}`,
            ],
      ),
    ),
    `${o.concurrentRuns} runs at once, each doing gated writes back to back, beside ${o.concurrentRuns} raw writers ` +
      `committing back to back (per second, every run together; ${o.concurrentRounds} rounds of ` +
      `${(o.concurrentWindowMs / 1000).toFixed(1)} s after ${(o.concurrentWarmupMs / 1000).toFixed(1)} s warm-up; ` +
      'median round, range in brackets)',
    table(
      ['engine', 'raw commits/s', 'gated writes/s', 'gated / raw', 'gated writes counted', 'bench CPU'],
      engines.map((engine) => {
        if (engine.status === 'skipped') return [engine.name, 'skipped', '', '', '', ''];
        const { rawPerSecond, gatedPerSecond, gated } = engine.concurrent;
        return [
          engine.name,
          spread(rawPerSecond, count),
          spread(gatedPerSecond, count),
          times(gatedPerSecond.median / rawPerSecond.median),
          count(gated.reduce((sum, rate) => sum + rate.operations, 0)),
          `${Math.round(median(gated.map((rate) => rate.processCpuShare)) * 100)}%`,
        ];
      }),
    ),
    "  SQLite's raw writers share one connection (better-sqlite3 is synchronous and SQLite has one writer at a " +
      "time, so more connections would only queue on its lock): one fsync per commit, no batching. PostgreSQL's " +
      'each hold a connection; the server may flush several of their commits with one WAL write.',
    ...engines.flatMap((engine) =>
      engine.status === 'skipped' ? [`  skipped: ${engine.name} (${engine.reason})`] : [],
    ),
    `  Read back: ${count(measured.reduce((sum, engine) => sum + engine.verifiedEvents, 0))} events of ` +
      'one lone and one concurrent run per engine, every one verified with verifyLedger. The section took ' +
      `${durable.seconds.toFixed(1)} s.`,
  ];
  if (!fsync) return lines;
  if (fsync.status === 'skipped') {
    lines.push('', `fsyncs per call on SQLite: skipped (${fsync.reason}).`);
    return lines;
  }
  const row = (label: string, figure: FsyncPerCall) => [
    label,
    figure.perCall.toFixed(2),
    count(figure.counts.wal),
    count(figure.counts.database),
    count(figure.counts.other),
    figure.commitsPerCall.toFixed(2),
  ];
  lines.push(
    '',
    `fsyncs per call on SQLite: ${fsync.calls} lone calls of each kind (after warm-up ones) in a child node process ` +
      `under \`${fsync.tracer}\`, counted between markers (${fsync.seconds.toFixed(1)} s)`,
    table(
      ['call', 'syncs per call', 'WAL syncs', 'database syncs', 'other', 'commits per call'],
      [row('raw commit', fsync.raw), row('gated write', fsync.write), row('gated read', fsync.read)],
    ),
    '  "commits per call": WAL syncs less two per database sync, over calls. synchronous=FULL syncs the WAL at each ' +
      'commit; a checkpoint syncs the WAL and then the database, and the first commit into the restarted WAL syncs ' +
      'its header once more.',
  );
  return lines;
}

/** Every figure the issue names, with its target and PASS / MISS (or why it is absent). */
function formatIssueTargets(report: BenchReport): string[] {
  const durable = report.durableGate;
  const rows: string[][] = [];
  const absent = (figure: string, why: string) => rows.push([figure, why, '', '', '']);
  const judged = (figure: string, value: string, range: string, target: string, met: boolean | null) =>
    rows.push([figure, value, range, target, met === null ? 'no target' : met ? 'PASS' : 'MISS']);
  const engineRows = (engine: DurableEngineFigures | undefined, name: string, targets: EngineTargets) => {
    const label = (what: string) => `${name}: ${what}`;
    if (!engine || engine.status === 'skipped') {
      const why = engine ? 'skipped' : 'part durable not run';
      for (const what of [
        'lone gated write / raw commit',
        'lone gated read / raw commit',
        'gated writes/s, 16 runs',
      ]) {
        absent(label(what), why);
      }
      return;
    }
    const ratioRow = (what: string, ratio: Spread, limit: number | null) =>
      judged(
        label(what),
        times(ratio.median),
        range(ratio, times),
        limit === null ? 'none given' : `≤ ${limit}×`,
        limit === null ? null : ratio.median <= limit,
      );
    ratioRow('lone gated write / raw commit', engine.writeRatio, targets.write);
    ratioRow('lone gated read / raw commit', engine.readRatio, targets.read);
    const rate = engine.concurrent.gatedPerSecond;
    judged(
      label(
        `gated writes/s, ${engine.concurrent.runs} runs (raw: ${count(engine.concurrent.rawPerSecond.median)}/s)`,
      ),
      count(rate.median),
      range(rate, count),
      `≥ ${count(targets.concurrent)}/s`,
      rate.median >= targets.concurrent,
    );
  };
  engineRows(durable?.sqlite, 'SQLite', {
    write: DURABLE_GATE_TARGETS.sqliteWriteRatio,
    read: DURABLE_GATE_TARGETS.sqliteReadRatio,
    concurrent: DURABLE_GATE_TARGETS.sqliteConcurrentWrites,
  });
  engineRows(durable?.postgres, 'PostgreSQL', {
    write: null,
    read: null,
    concurrent: DURABLE_GATE_TARGETS.postgresConcurrentWrites,
  });
  const fsync = report.fsync;
  for (const [kind, commits] of [
    ['write', 2],
    ['read', 1],
  ] as const) {
    const figure = `SQLite: fsyncs per lone gated ${kind}`;
    if (!fsync) absent(figure, 'part durable not run');
    else if (fsync.status === 'skipped') absent(figure, 'skipped (see above)');
    else {
      const per = fsync[kind];
      judged(
        figure,
        `${per.perCall.toFixed(2)} (${per.commitsPerCall.toFixed(2)} commits)`,
        '',
        `${commits} commit${commits === 1 ? '' : 's'}`,
        Number(per.commitsPerCall.toFixed(2)) <= commits,
      );
    }
  }
  const guard = memoryGateGuard(report);
  const guardFigure = 'memory: AI SDK tool step / write gate overhead';
  if (!report.overheads) absent(guardFigure, 'part gate not run');
  else if (!guard) absent(guardFigure, 'gate below resolution');
  else {
    judged(
      guardFigure,
      times(guard.ratio),
      guard.rounds ? `${range(guard.rounds, times)} by round` : '',
      `≥ ${DURABLE_GATE_TARGETS.memoryGateVsToolStep}×`,
      guard.met,
    );
  }
  return [
    "Issue 9 targets (medians; ranges over rounds; ratios use the same engine's raw commit from this run)",
    table(['figure', 'measured', 'range', 'target', 'result'], rows, [0, 4]),
  ];
}

interface EngineTargets {
  readonly write: number | null;
  readonly read: number | null;
  readonly concurrent: number;
}

/** "1,234 (1,100–1,300)": the median round and the range over rounds. */
function spread(values: Spread, format: (value: number) => string): string {
  return values.rounds.length > 1
    ? `${format(values.median)} (${range(values, format)})`
    : format(values.median);
}

function range(values: Spread, format: (value: number) => string): string {
  return `${format(values.min)}–${format(values.max)}`;
}

function times(value: number): string {
  return `${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`;
}

function count(value: number): string {
  return Math.round(value).toLocaleString('en-US');
}

function trim(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(2);
}

function median(values: readonly number[]): number {
  return spreadOf(values).median;
}

/** This scenario's events/s over the memory store's: "1/40" reads "a fortieth of the memory rate". */
function vsMemory(ratio: number): string {
  if (ratio >= 0.995) return `${ratio.toFixed(2)}×`;
  return `1/${Math.round(1 / ratio).toLocaleString('en-US')}`;
}

/** The replay section: per-operation figures in milliseconds, and the replay target. */
function formatReplay(replay: ReplayBundleFigures): string[] {
  const row = (timing: Timing) => [
    timing.name,
    ms(timing.medianUs),
    ms(timing.p99Us),
    ms(timing.meanUs),
    timing.iterations.toLocaleString('en-US'),
  ];
  const median = replay.replay.medianUs / 1_000;
  return [
    `Replay bundles (ms per operation, each timed on its own): one run of ${replay.steps} door uses, ` +
      `${replay.events} ledger events, a ${(replay.bundleBytes / 1024).toFixed(0)} KB bundle`,
    table(
      ['operation', 'median', 'p99', 'mean', 'runs'],
      [replay.replay, replay.loadBundle, replay.exportMemory, replay.exportSqlite].map(row),
    ),
    `Replaying a ${replay.steps}-step bundle takes ${median.toFixed(2)} ms (median); target < ${replay.targetMs} ms: ` +
      `${median < replay.targetMs ? 'met' : 'NOT met'}.`,
  ];
}

function ms(us: number): string {
  return (us / 1_000).toFixed(2);
}

/** Writes the report as JSON, creating the directory when needed. */
export async function writeReport(path: string, report: BenchReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

function us(value: number): string {
  if (Math.abs(value) >= 100) return value.toFixed(0);
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

/** A plain-text table: the `left` columns left-aligned (labels, prose), the rest right-aligned. */
function table(headers: readonly string[], rows: readonly (readonly string[])[], left = [0]): string {
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const format = (cells: readonly string[]) =>
    cells
      .map((cell, column) =>
        left.includes(column) ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!),
      )
      .join('  ')
      .trimEnd();
  return [format(headers), widths.map((width) => '─'.repeat(width)).join('  '), ...rows.map(format)]
    .map((line) => `  ${line}`)
    .join('\n');
}

function roundList(values: readonly number[]): string {
  return values.map((value) => us(value)).join(', ');
}
