/**
 * A mistake in how a command was called (a missing argument, an unknown flag, a file that isn't
 * there). The CLI prints its message and a pointer to `--help`, never a stack, and exits with 2.
 */
export class UsageError extends Error {
  override readonly name = 'UsageError';
}
