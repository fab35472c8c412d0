import { type ParseArgsConfig, parseArgs } from 'node:util';
import { UsageError } from './usage-error.js';

type OptionsConfig = NonNullable<ParseArgsConfig['options']>;

/** `--help` / `-h`, accepted by every command. */
export const HELP_OPTION = { help: { type: 'boolean', short: 'h' } } as const;

/**
 * Parses a command's arguments strictly (an unknown flag is an error) with `node:util` parseArgs,
 * turning its errors into {@link UsageError}s that name the flag.
 */
export function parseFlags<const O extends OptionsConfig>(
  args: readonly string[],
  options: O,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; allowPositionals: true; strict: true }>> {
  try {
    return parseArgs({ args: [...args], options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
}

function describeParseError(error: unknown): string {
  const code = (error as { code?: unknown }).code;
  const message = error instanceof Error ? error.message : String(error);
  const flag = /'(-[^'\s]*)/.exec(message)?.[1];
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && flag) return `unknown option ${flag}`;
  if (code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && flag) {
    return /argument missing/.test(message)
      ? `option ${flag} needs a value`
      : `option ${flag} takes no value (${message})`;
  }
  return message;
}

/** True when `--help` or `-h` comes before any `--` terminator. */
export function wantsHelp(args: readonly string[]): boolean {
  for (const arg of args) {
    if (arg === '--') return false;
    if (arg === '--help' || arg === '-h') return true;
  }
  return false;
}

/** Checks the number of positional arguments, naming what was expected. */
export function expectPositionals(positionals: readonly string[], names: readonly string[]): string[] {
  if (positionals.length < names.length) {
    throw new UsageError(
      `missing ${names
        .slice(positionals.length)
        .map((name) => `<${name}>`)
        .join(' ')}`,
    );
  }
  if (positionals.length > names.length) {
    throw new UsageError(
      `unexpected argument ${JSON.stringify(positionals[names.length])}: takes ${names.map((name) => `<${name}>`).join(' ')}`,
    );
  }
  return [...positionals];
}

/** A string flag that must be present and non-empty. */
export function requireFlag(value: string | undefined, flag: string, hint: string): string {
  if (value === undefined || value.trim() === '') throw new UsageError(`${flag} is required: ${hint}`);
  return value;
}
