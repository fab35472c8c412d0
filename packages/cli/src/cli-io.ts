/** Somewhere a command writes text: `process.stdout` and `process.stderr` fit. */
export interface CliOutput {
  write(text: string): unknown;
  /** True for a terminal: enables colors (stdout) and progress (stderr). */
  readonly isTTY?: boolean;
}

/**
 * What a command talks to besides its arguments: its two output streams and the environment.
 * Tests pass in-memory outputs; the `custody` binary passes the process's own.
 */
export interface CliIo {
  readonly stdout: CliOutput;
  readonly stderr: CliOutput;
  /** Environment variables (`NO_COLOR`). Defaults to `process.env`. */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

/** A command: takes its arguments (after the command name), writes to `io`, resolves to an exit code. */
export type CliCommand = (args: readonly string[], io: CliIo) => Promise<number>;

/** Exit codes of every command. */
export const ExitCode = {
  /** Everything worked (for verify: everything verified). */
  ok: 0,
  /** The command ran but failed: a verification problem, a store error, a run not found. */
  failed: 1,
  /** The command was called wrong: a missing or invalid argument or flag. */
  usage: 2,
} as const;

/** Writes one line. */
export function writeLine(output: CliOutput, line = ''): void {
  output.write(`${line}\n`);
}
