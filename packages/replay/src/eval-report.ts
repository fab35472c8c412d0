import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { CustodyError, type DecisionEffect, type RunOutcome } from '@custody/core';
import type { AssertionResult } from './eval-assertions.js';
import type { DivergenceKind } from './replay.js';

/** The `format` of every eval report. */
export const EVAL_REPORT_FORMAT = 'custody-eval-report';
/** The eval report version this package writes and reads. */
export const EVAL_REPORT_VERSION = 1;

/** The default allowed drop of the task success rate below the baseline's: 2 points. */
export const DEFAULT_MAX_DROP = 0.02;

/** A recorded decision the app's current policy would make with a different effect. */
export interface PolicyChange {
  readonly step: number;
  readonly callId: string;
  readonly tool: string;
  readonly recorded: { readonly effect: DecisionEffect; readonly ruleIds: readonly string[] };
  readonly current: { readonly effect: DecisionEffect; readonly ruleIds: readonly string[] };
}

/** The result of one case of a regression set: one bundle, replayed and judged. */
export interface EvalCaseResult {
  /** The bundle's file name without `.bundle.json`. */
  readonly name: string;
  /** The bundle file and its expect file (null when evaluated from memory, or without one). */
  readonly file: string | null;
  readonly expectFile: string | null;
  readonly runId: string | null;
  /** Replay matched, the outcome is as expected, every assertion passed and the policy agrees. */
  readonly success: boolean;
  /** Null when the bundle could not be loaded. */
  readonly replay: {
    readonly status: 'matched' | 'diverged';
    readonly steps: { readonly recorded: number; readonly replayed: number };
    readonly divergence?: {
      readonly kind: DivergenceKind;
      readonly step: number;
      readonly message: string;
      readonly diff: string;
    };
  } | null;
  /** The recorded run's outcome against the expected one (`ok` when nothing is expected). */
  readonly outcome: {
    readonly expected: RunOutcome | null;
    readonly recorded: RunOutcome | null;
    readonly ok: boolean;
  };
  readonly assertions: readonly AssertionResult[];
  /** Recorded decisions the setup's current policy would make differently (empty without a policy). */
  readonly policyChanges: readonly PolicyChange[];
  /** The tool calls the replay answered, by outcome. */
  readonly calls: { readonly total: number; readonly denied: number; readonly pendingApproval: number };
  /** Why the case failed, one line each; empty on success. */
  readonly failures: readonly string[];
  /** Set when the case could not be evaluated at all (an unreadable or tampered bundle). */
  readonly error?: string;
}

/** The figures of a regression set. Rates are fractions (0–1); with no tool calls they are 0. */
export interface EvalMetrics {
  readonly cases: number;
  readonly succeeded: number;
  /** Task success rate: succeeded cases / cases. */
  readonly successRate: number;
  readonly replayMatched: number;
  /** Replay success rate: matched replays / cases. */
  readonly replaySuccessRate: number;
  readonly toolCalls: number;
  readonly denied: number;
  readonly pendingApproval: number;
  /** Denied tool calls / tool calls. */
  readonly policyBlockRate: number;
  /** Tool calls held for approval / tool calls. */
  readonly escalationRate: number;
  readonly assertions: { readonly total: number; readonly failed: number };
}

/** What a report is compared with: a previous report, or at least its success rate. */
export interface EvalBaseline {
  readonly metrics: { readonly successRate: number };
  readonly generatedAt?: string;
}

/** The comparison of a success rate with a baseline's. */
export interface BaselineComparison {
  /** The baseline's task success rate. */
  readonly successRate: number;
  readonly generatedAt: string | null;
  readonly maxDrop: number;
  /** The lowest success rate that passes: baseline − maxDrop. */
  readonly minimum: number;
  readonly passed: boolean;
}

/** The JSON report of a regression set run, as `custody eval --report` writes it. */
export interface EvalReport {
  readonly format: typeof EVAL_REPORT_FORMAT;
  readonly version: typeof EVAL_REPORT_VERSION;
  readonly generatedAt: string;
  /** The folder as it was given. */
  readonly folder: string;
  readonly metrics: EvalMetrics;
  readonly cases: readonly EvalCaseResult[];
  readonly baseline: BaselineComparison | null;
  /**
   * With a baseline: the success rate is at most `maxDrop` below the baseline's. Without one:
   * every case succeeded.
   */
  readonly passed: boolean;
}

function rate(part: number, whole: number): number {
  return whole === 0 ? 0 : part / whole;
}

/** Sums the cases into the set's metrics. */
export function evalMetrics(cases: readonly EvalCaseResult[]): EvalMetrics {
  const sum = (pick: (c: EvalCaseResult) => number) => cases.reduce((total, c) => total + pick(c), 0);
  const succeeded = cases.filter((c) => c.success).length;
  const replayMatched = cases.filter((c) => c.replay?.status === 'matched').length;
  const toolCalls = sum((c) => c.calls.total);
  const denied = sum((c) => c.calls.denied);
  const pendingApproval = sum((c) => c.calls.pendingApproval);
  return {
    cases: cases.length,
    succeeded,
    successRate: rate(succeeded, cases.length),
    replayMatched,
    replaySuccessRate: rate(replayMatched, cases.length),
    toolCalls,
    denied,
    pendingApproval,
    policyBlockRate: rate(denied, toolCalls),
    escalationRate: rate(pendingApproval, toolCalls),
    assertions: {
      total: sum((c) => c.assertions.length),
      failed: sum((c) => c.assertions.filter((a) => !a.passed).length),
    },
  };
}

/** Checks an allowed drop: a fraction between 0 and 1 (0.02 is two points). */
export function checkMaxDrop(maxDrop: number): number {
  if (typeof maxDrop !== 'number' || !Number.isFinite(maxDrop) || maxDrop < 0 || maxDrop > 1) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `maxDrop must be a fraction between 0 and 1 (0.02 allows two points), got ${JSON.stringify(maxDrop)}`,
    );
  }
  return maxDrop;
}

/** Checks that a baseline carries a success rate, and returns it. */
export function checkBaseline(baseline: EvalBaseline): number {
  const base = baseline?.metrics?.successRate;
  if (typeof base !== 'number' || !(base >= 0 && base <= 1)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `the baseline has no success rate between 0 and 1 at metrics.successRate (got ${JSON.stringify(base)}): give a report written by runEval or custody eval --report`,
    );
  }
  return base;
}

// Rates are ratios of small integers: 0.9 − 0.02 is 0.8800000000000001, and 0.88 must pass it.
const EPSILON = 1e-9;

/**
 * Compares a task success rate with a baseline's: it passes when it is at least the baseline's
 * minus `maxDrop` (default 0.02, two points).
 *
 * @example
 * ```ts
 * compareWithBaseline(0.96, { metrics: { successRate: 1 } }, 0.05).passed; // true: 0.96 ≥ 1 − 0.05
 * ```
 */
export function compareWithBaseline(
  successRate: number,
  baseline: EvalBaseline,
  maxDrop = DEFAULT_MAX_DROP,
): BaselineComparison {
  checkMaxDrop(maxDrop);
  const base = checkBaseline(baseline);
  const minimum = Math.max(0, base - maxDrop);
  return {
    successRate: base,
    generatedAt: baseline.generatedAt ?? null,
    maxDrop,
    minimum,
    passed: successRate + EPSILON >= minimum,
  };
}

/** Writes a report as JSON (creating its folder), for CI artifacts or as the next baseline. */
export async function writeEvalReport(path: string, report: EvalReport): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, `${JSON.stringify(report, null, 2)}\n`);
}

/** Reads a report written by {@link writeEvalReport}, to use as a baseline. */
export async function readEvalReport(path: string): Promise<EvalReport> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `cannot read the eval report ${path}: ${(error as Error).message}`,
      { cause: error, details: { path } },
    );
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `eval report ${path} is not JSON: ${(error as Error).message}`,
      {
        details: { path },
      },
    );
  }
  const report = value as Partial<EvalReport> | null;
  if (report?.format !== EVAL_REPORT_FORMAT || report.version !== EVAL_REPORT_VERSION) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `${path} is not an eval report (version ${EVAL_REPORT_VERSION}): its "format" must be "${EVAL_REPORT_FORMAT}", got ${JSON.stringify(report?.format)}; write one with custody eval --report`,
      { details: { path } },
    );
  }
  const successRate = report.metrics?.successRate;
  if (typeof successRate !== 'number' || !(successRate >= 0 && successRate <= 1)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `eval report ${path} has no metrics.successRate between 0 and 1 (got ${JSON.stringify(successRate)})`,
      { details: { path } },
    );
  }
  return report as EvalReport;
}

function percent(value: number): string {
  return `${(value * 100).toFixed(1)}%`;
}

function caseLine(c: EvalCaseResult, width: number): string[] {
  const head = `  ${c.success ? 'PASS' : 'FAIL'}  ${c.name.padEnd(width)}`;
  if (c.error !== undefined) return [`${head}  ${c.error}`];
  const parts: string[] = [];
  if (c.replay) {
    parts.push(
      c.replay.divergence
        ? `diverged at step ${c.replay.divergence.step} (${c.replay.divergence.kind})`
        : `matched ${c.replay.steps.replayed}/${c.replay.steps.recorded} steps`,
    );
  }
  parts.push(`outcome ${c.outcome.recorded ?? 'none'}`);
  if (c.assertions.length > 0) {
    parts.push(`${c.assertions.filter((a) => a.passed).length}/${c.assertions.length} assertions`);
  }
  return [`${head}  ${parts.join(' · ')}`, ...c.failures.map((failure) => `          ✗ ${failure}`)];
}

/**
 * Renders a report for a terminal or a CI log: one line per case with its failures under it, then
 * the rates and the baseline verdict.
 */
export function renderEvalReport(report: EvalReport): string {
  const { metrics: m } = report;
  const width = Math.max(0, ...report.cases.map((c) => c.name.length));
  const lines = [
    `eval of ${report.folder}: ${m.cases} case${m.cases === 1 ? '' : 's'}`,
    ...report.cases.flatMap((c) => caseLine(c, width)),
    '',
    `  task success   ${percent(m.successRate)} (${m.succeeded} of ${m.cases})`,
    `  replay         ${percent(m.replaySuccessRate)} (${m.replayMatched} of ${m.cases} matched)`,
    `  policy blocks  ${percent(m.policyBlockRate)} (${m.denied} of ${m.toolCalls} tool calls denied)`,
    `  escalations    ${percent(m.escalationRate)} (${m.pendingApproval} of ${m.toolCalls} tool calls held for approval)`,
    `  assertions     ${m.assertions.total - m.assertions.failed} of ${m.assertions.total} passed`,
  ];
  const { baseline } = report;
  lines.push(
    baseline
      ? `  baseline       ${percent(baseline.successRate)}${baseline.generatedAt ? ` (${baseline.generatedAt})` : ''}, allowed drop ${(baseline.maxDrop * 100).toFixed(1)} points: needs ≥ ${percent(baseline.minimum)}`
      : '  baseline       none: every case must succeed',
    report.passed
      ? 'PASSED'
      : baseline
        ? `FAILED: task success ${percent(m.successRate)} is below ${percent(baseline.minimum)}`
        : `FAILED: ${m.cases - m.succeeded} of ${m.cases} cases failed`,
  );
  return lines.join('\n');
}
