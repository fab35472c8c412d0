import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { AiSdkToolStepFigures } from './ai-sdk-tool-step.js';
import type { GatedCallFigures } from './gated-call.js';
import type { HotPathFigures } from './hot-path.js';
import {
  type LedgerThroughputFigures,
  THROUGHPUT_TARGETS,
  type ThroughputTarget,
} from './ledger-throughput.js';
import type { Timing } from './measure.js';
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

/** Everything one `pnpm bench` measured, as written to `results/latest.json`. */
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
  readonly settings: Readonly<Record<string, number>>;
  readonly overheads: readonly Overhead[];
  /** Peer per-tool-step median over Custody's write-gate median (no-op telemetry). */
  readonly headlineRatio: number | null;
  readonly noopTelemetry: GatedCallFigures;
  readonly sdkTelemetry: SdkTelemetryFigures;
  readonly aiSdk: AiSdkToolStepFigures;
  readonly hotPath: HotPathFigures;
  readonly replay: ReplayBundleFigures;
  readonly ledgerThroughput: LedgerThroughputFigures;
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

/** The report as readable text tables. */
export function formatReport(report: BenchReport): string {
  const { environment: env, noopTelemetry: noop, sdkTelemetry: sdk, aiSdk } = report;
  const lines: string[] = [];
  lines.push(
    `Custody benchmark — node ${env.node}, ${env.platform}, ${env.cpus} CPU(s) (${env.cpuModel}), ` +
      `GC between phases: ${env.gcBetweenPhases ? 'yes' : 'no (not available)'}, ` +
      `load average ${env.loadAverage.start.toFixed(2)} → ${env.loadAverage.end.toFixed(2)}`,
    ...(Math.max(env.loadAverage.start, env.loadAverage.end) > env.cpus / 2
      ? ['WARNING: the machine was busy with other work during this run; p99s (and medians) are inflated.']
      : []),
    '',
    'Measured calls (µs per call, each call timed on its own)',
  );
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
      report.overheads.map((o) => [
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
    '',
    `Hot-path pieces (µs per operation; payload ${report.hotPath.payloadBytes} B). "rounds": many operations per ` +
      'sample, GC included in the median; "per call": timed one by one like the gate.',
    table(
      ['piece', 'timed', 'median', 'p99', 'per second', 'where it sits'],
      report.hotPath.figures.map((f) => [
        f.timing.name,
        f.method,
        us(f.timing.medianUs),
        us(f.timing.p99Us),
        `${Math.round(f.perSecond).toLocaleString('en-US')} ${f.unit}s/s`,
        f.note,
      ]),
      [0, 1, 5],
    ),
    '',
  );
  const write = report.overheads[0];
  const peer = report.overheads[report.overheads.length - 1];
  const sealWrite = report.hotPath.figures.find((figure) => figure.id === 'seal-write');
  const hashWrite = report.hotPath.figures.find((figure) => figure.id === 'hash-write');
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
  if (write && peer && report.headlineRatio !== null) {
    lines.push(
      `Custody gate is ${report.headlineRatio.toFixed(1)}× cheaper than one AI SDK tool step ` +
        `(write gate ${us(write.medianUs)} µs vs tool step ${us(peer.medianUs)} µs, medians).`,
    );
  } else {
    lines.push('Custody gate overhead is below the resolution of this measurement; no ratio printed.');
  }
  lines.push('', ...formatReplay(report.replay), '', ...formatLedgerThroughput(report.ledgerThroughput));
  return lines.join('\n');
}

/** The ledger storage section: events per second per store and scenario, against the targets. */
function formatLedgerThroughput(ledger: LedgerThroughputFigures): string[] {
  const { postgres, verification } = ledger;
  const count = (value: number) => Math.round(value).toLocaleString('en-US');
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
