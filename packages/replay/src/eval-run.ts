import { readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type Clock,
  CustodyError,
  type PolicyDecision,
  type PolicyEngine,
  type PolicyRequest,
  systemClock,
} from '@custody/core';
import { loadBundle, type ReplayBundle } from './bundle.js';
import { checkAssertions, type ObservedCall } from './eval-assertions.js';
import { type EvalExpectation, parseEvalExpectation } from './eval-expectation.js';
import {
  checkBaseline,
  checkMaxDrop,
  compareWithBaseline,
  DEFAULT_MAX_DROP,
  EVAL_REPORT_FORMAT,
  EVAL_REPORT_VERSION,
  type EvalBaseline,
  type EvalCaseResult,
  type EvalReport,
  evalMetrics,
  type PolicyChange,
} from './eval-report.js';
import { observeCalls, type SeenCall } from './observed-run.js';
import { policyWhatIf } from './policy-what-if.js';
import type { ToolStep } from './recorded-steps.js';
import { replay } from './replay.js';
import type { ReplaySetup } from './replay-setup.js';

const BUNDLE_SUFFIX = '.bundle.json';
const EXPECT_SUFFIX = '.expect.json';

/** Options of {@link runEval}. */
export interface RunEvalOptions {
  /** A previous report: the run passes when its success rate is at most `maxDrop` below this one's. */
  baseline?: EvalBaseline;
  /** Allowed drop below the baseline's success rate, as a fraction. Default 0.02 (two points). */
  maxDrop?: number;
  /** Called with each case's result as soon as it is known (progress, streaming output). */
  onCase?: (result: EvalCaseResult) => void;
  /** Stops between cases. */
  signal?: AbortSignal;
  /** Time of the report. Defaults to the system clock. */
  clock?: Clock;
}

/** Options of {@link runEvalCase}. */
export interface RunEvalCaseOptions {
  /** What the case must show. Without one, the case succeeds when its replay matches. */
  expectation?: EvalExpectation;
  /** The case's name in reports. Default: the run id. */
  name?: string;
  /** The files the case came from, for reports. */
  file?: string;
  expectFile?: string;
}

function checkSetup(setup: ReplaySetup, what: string): void {
  if (typeof setup?.agent !== 'function' || !Array.isArray(setup.tools)) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `${what} needs a replay setup with tools and agent: defineReplaySetup({ tools, agent: (run, bundle) => … })`,
    );
  }
}

/** Re-decides the recorded calls under the current policy, keeping the whole decisions (approvers too). */
async function currentDecisions(
  bundle: ReplayBundle,
  setup: ReplaySetup,
): Promise<{ byCall: Map<string, PolicyDecision>; changes: PolicyChange[] }> {
  const policy = setup.policy!;
  const decided: (PolicyDecision | undefined)[] = [];
  // policyWhatIf asks once per decided call, in order: the answers line up with its decisions.
  const capturing: PolicyEngine = {
    specificationVersion: 'v1',
    ref: policy.ref,
    decide: async (request: PolicyRequest) => {
      const index = decided.push(undefined) - 1;
      const decision = await policy.decide(request);
      decided[index] = decision;
      return decision;
    },
  };
  const whatIf = await policyWhatIf(bundle, capturing, { tools: setup.tools });
  const byCall = new Map<string, PolicyDecision>();
  const changes: PolicyChange[] = [];
  whatIf.decisions.forEach((comparison, index) => {
    if (comparison.candidate.effect === comparison.recorded.effect) return;
    byCall.set(
      comparison.callId,
      decided[index] ?? {
        effect: comparison.candidate.effect,
        policy: comparison.candidate.policy,
        ruleIds: comparison.candidate.ruleIds,
        reasons: comparison.candidate.reasons,
      },
    );
    changes.push({
      step: comparison.step,
      callId: comparison.callId,
      tool: comparison.tool,
      recorded: { effect: comparison.recorded.effect, ruleIds: comparison.recorded.ruleIds },
      current: { effect: comparison.candidate.effect, ruleIds: comparison.candidate.ruleIds },
    });
  });
  return { byCall, changes };
}

function rules(ids: readonly string[]): string {
  return ids.length ? ` [${ids.join(', ')}]` : '';
}

/**
 * Replays one bundle against the app's current agent and tools (recorded mode: nothing leaves
 * the process) and judges it: the replay must match, the recorded run must have ended with the
 * expected outcome, every governance assertion must hold for the calls the replay answered, and —
 * when the setup has a policy — the current policy must decide every recorded call as recorded.
 *
 * @example
 * ```ts
 * const result = await runEvalCase(bundle, replaySetup, {
 *   expectation: { outcome: 'succeeded', assertions: [{ kind: 'never_called', tool: 'gmail.send' }] },
 * });
 * if (!result.success) console.log(result.failures.join('\n'));
 * ```
 */
export async function runEvalCase(
  bundle: ReplayBundle,
  setup: ReplaySetup,
  options: RunEvalCaseOptions = {},
): Promise<EvalCaseResult> {
  checkSetup(setup, 'runEvalCase');
  const { expectation } = options;
  const seen: SeenCall[] = [];
  const result = await replay(
    bundle,
    (run) =>
      setup.agent(
        observeCalls(run, (call) => seen.push(call)),
        bundle,
      ),
    { tools: setup.tools, ...(setup.redaction ? { redaction: setup.redaction } : {}) },
  );
  const recordedDecisions = new Map(
    bundle.steps
      .filter((step): step is ToolStep => step.kind === 'tool' && step.decision !== undefined)
      .map((step) => [step.callId, step.decision!]),
  );
  const policy = setup.policy
    ? await currentDecisions(bundle, setup)
    : { byCall: new Map<string, PolicyDecision>(), changes: [] };
  const tools = new Map(setup.tools.map((tool) => [tool.name, tool]));
  const calls: ObservedCall[] = seen.map((call) => {
    const decision = recordedDecisions.get(call.result.callId);
    const current = policy.byCall.get(call.result.callId);
    // Assertions read the input as the policy saw it: after the tool's schema parsed it.
    const parsed = tools.get(call.tool)?.input.safeParse(call.input);
    return {
      ...call,
      input: parsed?.success ? parsed.data : call.input,
      ...(decision ? { decision } : {}),
      ...(current ? { current } : {}),
    };
  });
  const assertions = checkAssertions(expectation?.assertions ?? [], calls);

  const failures: string[] = [];
  if (result.divergence) {
    const { step, kind, message } = result.divergence;
    failures.push(`replay diverged at step ${step} (${kind}): ${message}`);
  }
  const expected = expectation?.outcome ?? null;
  const recorded = bundle.run.outcome;
  const outcomeOk = expected === null || expected === recorded;
  if (!outcomeOk) {
    failures.push(
      `outcome: expected ${expected}, the recorded run ended ${recorded ?? 'without an outcome'}`,
    );
  }
  for (const assertion of assertions) {
    if (!assertion.passed) {
      const { description } = assertion.assertion;
      failures.push(
        `${assertion.assertion.kind} ${assertion.assertion.tool}: ${assertion.message}${description ? ` (${description})` : ''}`,
      );
    }
  }
  for (const change of policy.changes) {
    failures.push(
      `policy: the current policy decides ${change.tool} at step ${change.step} ${change.current.effect}${rules(change.current.ruleIds)}, the recording has ${change.recorded.effect}${rules(change.recorded.ruleIds)}; re-record this case if the change is intended`,
    );
  }
  return {
    name: options.name ?? bundle.run.runId,
    file: options.file ?? null,
    expectFile: options.expectFile ?? null,
    runId: bundle.run.runId,
    success: failures.length === 0,
    replay: {
      status: result.status,
      steps: result.steps,
      ...(result.divergence
        ? {
            divergence: {
              kind: result.divergence.kind,
              step: result.divergence.step,
              message: result.divergence.message,
              diff: result.divergence.diff,
            },
          }
        : {}),
    },
    outcome: { expected, recorded, ok: outcomeOk },
    assertions,
    policyChanges: policy.changes,
    calls: {
      total: seen.length,
      denied: seen.filter((call) => call.result.status === 'denied').length,
      pendingApproval: seen.filter((call) => call.result.status === 'pending_approval').length,
    },
    failures,
  };
}

/** The cases of a regression folder: each bundle with its expect file, if it has one. */
interface EvalCaseFiles {
  readonly name: string;
  readonly file: string;
  readonly expectFile: string | null;
  readonly expectation: EvalExpectation | undefined;
}

async function findCases(folder: string): Promise<EvalCaseFiles[]> {
  let names: string[];
  try {
    if (!(await stat(folder)).isDirectory()) throw new Error('not a folder');
    names = await readdir(folder);
  } catch (error) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `regression folder ${folder} cannot be read (${(error as Error).message}): give the folder holding the *${BUNDLE_SUFFIX} files`,
      { cause: error, details: { folder } },
    );
  }
  const bundles = names.filter((name) => name.endsWith(BUNDLE_SUFFIX)).sort();
  if (bundles.length === 0) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `no *${BUNDLE_SUFFIX} files in ${folder}: export bundles of the runs to keep with exportBundle or custody bundle`,
      { details: { folder } },
    );
  }
  const stems = new Set(bundles.map((name) => name.slice(0, -BUNDLE_SUFFIX.length)));
  const orphans = names.filter(
    (name) => name.endsWith(EXPECT_SUFFIX) && !stems.has(name.slice(0, -EXPECT_SUFFIX.length)),
  );
  if (orphans.length > 0) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `${orphans.join(', ')} in ${folder} ${orphans.length === 1 ? 'has' : 'have'} no bundle beside ${orphans.length === 1 ? 'it' : 'them'}: an expect file is named after its bundle (<name>${EXPECT_SUFFIX} for <name>${BUNDLE_SUFFIX})`,
      { details: { folder, orphans } },
    );
  }
  // Every expect file is checked before anything is replayed: a typo fails at once, not after a long run.
  return Promise.all(
    bundles.map(async (file) => {
      const name = file.slice(0, -BUNDLE_SUFFIX.length);
      const expectFile = names.includes(`${name}${EXPECT_SUFFIX}`) ? `${name}${EXPECT_SUFFIX}` : null;
      const expectation = expectFile
        ? parseEvalExpectation(await readFile(join(folder, expectFile), 'utf8'), join(folder, expectFile))
        : undefined;
      return { name, file, expectFile, expectation };
    }),
  );
}

function unloadable(files: EvalCaseFiles, error: unknown): EvalCaseResult {
  const message = `bundle cannot be loaded: ${(error as Error)?.message?.replace(/^\[custody\] /, '') ?? String(error)}`;
  return {
    name: files.name,
    file: files.file,
    expectFile: files.expectFile,
    runId: null,
    success: false,
    replay: null,
    outcome: { expected: files.expectation?.outcome ?? null, recorded: null, ok: false },
    assertions: [],
    policyChanges: [],
    calls: { total: 0, denied: 0, pendingApproval: 0 },
    failures: [message],
    error: message,
  };
}

async function evaluateFile(
  folder: string,
  files: EvalCaseFiles,
  setup: ReplaySetup,
): Promise<EvalCaseResult> {
  let bundle: ReplayBundle;
  try {
    bundle = loadBundle(await readFile(join(folder, files.file), 'utf8'));
  } catch (error) {
    return unloadable(files, error);
  }
  return runEvalCase(bundle, setup, {
    name: files.name,
    file: files.file,
    ...(files.expectFile ? { expectFile: files.expectFile } : {}),
    ...(files.expectation ? { expectation: files.expectation } : {}),
  });
}

/**
 * Runs a regression set: every `*.bundle.json` in `folder` (each optionally with a
 * `<name>.expect.json` beside it) is loaded, replayed against the app's current agent and tools
 * and judged by {@link runEvalCase}. Returns the report: per-case results, the task success,
 * replay success, policy-block and escalation rates, and — with a baseline — whether the success
 * rate stayed within `maxDrop` of it. A bundle that cannot be loaded (edited, tampered) is a
 * failed case; an invalid expect file is an error before anything runs.
 *
 * @example
 * ```ts
 * const report = await runEval('regression', replaySetup, {
 *   baseline: await readEvalReport('eval-baseline.json'),
 * });
 * console.log(renderEvalReport(report));
 * if (!report.passed) process.exitCode = 1;
 * ```
 */
export async function runEval(
  folder: string,
  setup: ReplaySetup,
  options: RunEvalOptions = {},
): Promise<EvalReport> {
  checkSetup(setup, 'runEval');
  const maxDrop = checkMaxDrop(options.maxDrop ?? DEFAULT_MAX_DROP);
  if (options.baseline) checkBaseline(options.baseline);
  const clock = options.clock ?? systemClock;
  const files = await findCases(folder);
  const cases: EvalCaseResult[] = [];
  for (const file of files) {
    if (options.signal?.aborted) {
      throw new CustodyError('CUSTODY_ABORTED', `eval of ${folder} aborted after ${cases.length} cases`, {
        cause: options.signal.reason,
      });
    }
    const result = await evaluateFile(folder, file, setup);
    cases.push(result);
    options.onCase?.(result);
  }
  const metrics = evalMetrics(cases);
  const baseline = options.baseline
    ? compareWithBaseline(metrics.successRate, options.baseline, maxDrop)
    : null;
  return {
    format: EVAL_REPORT_FORMAT,
    version: EVAL_REPORT_VERSION,
    generatedAt: new Date(clock.now()).toISOString(),
    folder,
    metrics,
    cases,
    baseline,
    passed: baseline ? baseline.passed : metrics.succeeded === metrics.cases,
  };
}
