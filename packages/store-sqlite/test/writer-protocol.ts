// The child side of the crash tests' protocol: a writer prints lines to its parent and waits for
// `go` on stdin before it touches the file (so the parent can load the next writer meanwhile).
import { createInterface } from 'node:readline';

/** Prints one line; stdout writes to a pipe are synchronous on Linux, so SIGKILL cannot lose it. */
export function say(line: string): void {
  process.stdout.write(`${line}\n`);
}

/** Prints `loaded`, then resolves once the parent writes `go`. */
export function loadedThenWaitForGo(): Promise<void> {
  say('loaded');
  return new Promise<void>((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line !== 'go') return;
      // Nothing else comes on stdin: stop listening, so it keeps nothing alive.
      lines.close();
      process.stdin.destroy();
      resolve();
    });
  });
}
