import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import {
  DEFAULT_MAX_DROP,
  type EvalBaseline,
  readEvalReport,
  renderEvalReport,
  runEval,
  writeEvalReport,
} from '@custody/replay';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { expectPositionals, HELP_OPTION, parseFlags, requireFlag } from '../parse-flags.js';
import { loadReplaySetup } from '../setup-module.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody eval`. */
export const EVAL_HELP = `Usage: custody eval <folder> --setup <module> [options]

Runs a regression set: replays every <name>.bundle.json in <folder> against your app's current
agent and tools (recorded mode: no tool runs, nothing leaves the process), and checks the
<name>.expect.json beside it, if any: the outcome the run must have ended with, and governance
assertions about its tool calls (never_called, max_calls, requires_approval_above, decision).
A case succeeds when its replay matches, its outcome is the expected one, every assertion holds,
and the setup's current policy decides every recorded call as recorded. Prints each case, then
the task success, replay success, policy-block and escalation rates.

Options:
  --setup <module>   the module exporting your replay setup (defineReplaySetup), as its default
                     export or as "replaySetup". A TypeScript module needs custody to run under
                     tsx: NODE_OPTIONS="--import tsx" custody eval …
  --baseline <file>  a report from an earlier --report: pass when the task success rate is at
                     most --max-drop below the baseline's
  --max-drop <rate>  the allowed drop, a fraction or a percentage (default ${DEFAULT_MAX_DROP}, i.e. 2%);
                     needs --baseline
  --report <file>    write the JSON report (a CI artifact, and the next baseline)
  --json             print the JSON report instead of text
  -h, --help         show this help

Exit codes: 0 when the set passes: with --baseline, when the task success rate is at least the
baseline's minus --max-drop; without one, when every case succeeded. 1 when it does not (or a
bundle folder or expect file is invalid), 2 on a usage error.

Examples:
  custody eval regression --setup dist/replay-setup.js
  NODE_OPTIONS="--import tsx" custody eval regression --setup src/replay-setup.ts \\
    --baseline eval-baseline.json --max-drop 0.05 --report eval-report.json`;

/** Reads `--max-drop`: `0.05` or `5%`. */
function parseMaxDrop(value: string): number {
  const percent = value.trim().endsWith('%');
  const number = Number(percent ? value.trim().slice(0, -1) : value);
  const fraction = percent ? number / 100 : number;
  if (value.trim() === '' || !Number.isFinite(fraction) || fraction < 0 || fraction > 1) {
    throw new UsageError(
      `--max-drop must be a fraction between 0 and 1 or a percentage (0.02 or 2%), got ${JSON.stringify(value)}`,
    );
  }
  return fraction;
}

function checkFolder(folder: string): void {
  const path = resolve(folder);
  if (!existsSync(path))
    throw new UsageError(`regression folder ${folder} does not exist (looked at ${path})`);
  if (!statSync(path).isDirectory()) {
    throw new UsageError(`${folder} is not a folder: give the folder holding the *.bundle.json files`);
  }
}

/** `custody eval`: runs a regression set of bundles against the app's replay setup. */
export async function evalCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    setup: { type: 'string' },
    baseline: { type: 'string' },
    'max-drop': { type: 'string' },
    report: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [folder] = expectPositionals(positionals, ['folder']) as [string];
  const setupPath = requireFlag(
    values.setup,
    '--setup <module>',
    'the module exporting your replay setup (defineReplaySetup({ tools, agent }))',
  );
  checkFolder(folder);
  if (values['max-drop'] !== undefined && values.baseline === undefined) {
    throw new UsageError(
      '--max-drop is the allowed drop below a baseline: give --baseline <report.json> too',
    );
  }
  const maxDrop = values['max-drop'] === undefined ? DEFAULT_MAX_DROP : parseMaxDrop(values['max-drop']);
  if (
    values.report !== undefined &&
    values.baseline !== undefined &&
    resolve(values.report) === resolve(values.baseline)
  ) {
    throw new UsageError(
      '--report would overwrite the --baseline it is compared with; write it elsewhere and copy it over when you mean to move the baseline',
    );
  }
  let baseline: EvalBaseline | undefined;
  if (values.baseline !== undefined) {
    if (!existsSync(resolve(values.baseline))) {
      throw new UsageError(
        `--baseline ${values.baseline} does not exist; write one with custody eval … --report ${values.baseline}`,
      );
    }
    baseline = await readEvalReport(values.baseline);
  }
  const setup = await loadReplaySetup(setupPath);

  const report = await runEval(folder, setup, { ...(baseline ? { baseline } : {}), maxDrop });
  if (values.report !== undefined) await writeEvalReport(resolve(values.report), report);
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(report, null, 2));
  } else {
    writeLine(io.stdout, renderEvalReport(report));
    if (values.report !== undefined) writeLine(io.stdout, `report written to ${values.report}`);
  }
  return report.passed ? ExitCode.ok : ExitCode.failed;
}
