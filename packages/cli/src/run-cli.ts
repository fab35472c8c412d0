import { CustodyError } from '@custody/core';
import { type CliCommand, type CliIo, ExitCode, writeLine } from './cli-io.js';
import { BUNDLE_HELP, bundleCommand } from './commands/bundle.js';
import { CHECKPOINT_HELP, checkpointCommand } from './commands/checkpoint.js';
import { EVAL_HELP, evalCommand } from './commands/eval.js';
import { EXPORT_HELP, exportCommand } from './commands/export.js';
import { KEYGEN_HELP, keygenCommand } from './commands/keygen.js';
import { RUNS_HELP, runsCommand } from './commands/runs.js';
import { SHOW_HELP, showCommand } from './commands/show.js';
import { VERIFY_HELP, verifyCommand } from './commands/verify.js';
import { wantsHelp } from './parse-flags.js';
import { UsageError } from './usage-error.js';
import { cliVersion } from './version.js';

const COMMANDS: Readonly<Record<string, { readonly run: CliCommand; readonly help: string }>> = {
  verify: { run: verifyCommand, help: VERIFY_HELP },
  runs: { run: runsCommand, help: RUNS_HELP },
  show: { run: showCommand, help: SHOW_HELP },
  export: { run: exportCommand, help: EXPORT_HELP },
  bundle: { run: bundleCommand, help: BUNDLE_HELP },
  eval: { run: evalCommand, help: EVAL_HELP },
  checkpoint: { run: checkpointCommand, help: CHECKPOINT_HELP },
  keygen: { run: keygenCommand, help: KEYGEN_HELP },
};

/** Help of `custody` itself. */
export const CLI_HELP = `custody: verify, search and export Custody ledgers; bundle and evaluate runs

Usage: custody <command> [options]

Commands:
  verify <store>            check every hash, link and checkpoint; exit 1 on any problem
  runs <store>              list runs, newest first
  show <store> <runId>      print a run's timeline
  export <store> -o <file>  write events to JSONL or CSV (the export is recorded in the ledger)
  bundle <store> <runId>    write a run's replay bundle (verified first)
  eval <folder> --setup <m> replay a regression set of bundles and check its expectations
  checkpoint <store>        store a signed checkpoint of every stream's head
  keygen -o <dir>           create an Ed25519 key pair for signing checkpoints

<store> is a SQLite file (./.custody/ledger.db), a PostgreSQL URL (postgres://user@host:5432/db),
or, for verify, runs, show and bundle, a JSONL export (audit.jsonl).

Run "custody <command> --help" for a command's options.
Exit codes: 0 success, 1 failure (a verification problem, a store error, a failing eval), 2 usage error.`;

/**
 * Runs the `custody` command line: `argv` without the node and script paths, e.g.
 * `['verify', './.custody/ledger.db']`. Writes to `io` and resolves to the exit code: 0 on
 * success, 1 on failure (a verification problem, a store error), 2 on a usage error. Never
 * throws for a usage error or a `CustodyError`; they are printed without a stack.
 *
 * @example
 * ```ts
 * import { runCli } from '@custody/cli';
 *
 * const code = await runCli(['verify', './.custody/ledger.db', '--json'], {
 *   stdout: process.stdout,
 *   stderr: process.stderr,
 * });
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const [name, ...args] = argv;
  if (name === undefined) {
    writeLine(io.stderr, CLI_HELP);
    return ExitCode.usage;
  }
  if (name === '--help' || name === '-h') {
    writeLine(io.stdout, CLI_HELP);
    return ExitCode.ok;
  }
  if (name === '--version' || name === '-v') {
    writeLine(io.stdout, cliVersion());
    return ExitCode.ok;
  }
  if (name === 'help') {
    const topic = args[0];
    if (topic === undefined) {
      writeLine(io.stdout, CLI_HELP);
      return ExitCode.ok;
    }
    const command = Object.hasOwn(COMMANDS, topic) ? COMMANDS[topic] : undefined;
    if (command) {
      writeLine(io.stdout, command.help);
      return ExitCode.ok;
    }
    return unknownCommand(topic, io);
  }
  const command = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!command) return unknownCommand(name, io);
  if (wantsHelp(args)) {
    writeLine(io.stdout, command.help);
    return ExitCode.ok;
  }
  try {
    return await command.run(args, io);
  } catch (error) {
    return reportError(name, error, io);
  }
}

function unknownCommand(name: string, io: CliIo): number {
  const names = Object.keys(COMMANDS);
  const guess = names.find((candidate) => candidate.startsWith(name) || editDistance(candidate, name) <= 2);
  writeLine(
    io.stderr,
    `custody: unknown command ${JSON.stringify(name)}${guess ? ` (did you mean "${guess}"?)` : ''}; the commands are ${names.join(', ')}`,
  );
  writeLine(io.stderr, 'Run "custody --help" for usage.');
  return ExitCode.usage;
}

function reportError(name: string, error: unknown, io: CliIo): number {
  if (error instanceof UsageError) {
    writeLine(io.stderr, `custody ${name}: ${error.message}`);
    writeLine(io.stderr, `Run "custody ${name} --help" for usage.`);
    return ExitCode.usage;
  }
  if (CustodyError.isInstance(error)) {
    writeLine(io.stderr, `custody ${name}: ${error.message.replace(/^\[custody\] /, '')}`);
    const sqlState = error.details.sqlState;
    if (sqlState === '42P01' || sqlState === '3F000') {
      writeLine(
        io.stderr,
        `hint: that database has no Custody tables in schema "${String(error.details.schema)}": check the URL, or pass --schema <name> if they live in another schema`,
      );
    }
    return ExitCode.failed;
  }
  writeLine(
    io.stderr,
    `custody ${name}: unexpected error: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`,
  );
  return ExitCode.failed;
}

/** Levenshtein distance, for "did you mean". */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(
        previous[j]! + 1,
        current[j - 1]! + 1,
        previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
    }
    previous = current;
  }
  return previous[b.length]!;
}
