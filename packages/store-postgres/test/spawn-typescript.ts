import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** tsx's loader, from this package's own devDependencies. */
function tsxLoader(): string {
  return pathToFileURL(createRequire(import.meta.url).resolve('tsx')).href;
}

let loader: string | undefined;

/** A child process running a TypeScript file of this folder, its stdout read line by line. */
export interface TypeScriptChild {
  readonly process: ChildProcessWithoutNullStreams;
  /** Calls `onLine` for every line the child prints. */
  onLine(listener: (line: string) => void): void;
  /** Resolves with the first line `predicate` accepts; rejects if the child exits first. */
  waitFor(predicate: (line: string) => boolean, what: string): Promise<string>;
  /** Resolves once the child has exited: its exit code, or the signal that ended it. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Everything the child wrote to stderr so far. */
  stderr(): string;
}

/**
 * Spawns `node --import tsx --conditions=@custody/source <file> ...args`: a separate OS process
 * running this package's TypeScript source, as another app instance would.
 */
export function spawnTypeScript(file: string, args: readonly string[]): TypeScriptChild {
  loader ??= tsxLoader();
  const child = spawn(
    process.execPath,
    ['--import', loader, '--conditions=@custody/source', join(here, file), ...args],
    { cwd: here, stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let errors = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => {
    errors += chunk;
  });
  const listeners: ((line: string) => void)[] = [];
  createInterface({ input: child.stdout }).on('line', (line) => {
    for (const listener of listeners) listener(line);
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    process: child,
    onLine: (listener) => listeners.push(listener),
    waitFor: (predicate, what) =>
      new Promise<string>((resolve, reject) => {
        listeners.push((line) => {
          if (predicate(line)) resolve(line);
        });
        void exited.then(({ code, signal }) =>
          reject(new Error(`child exited (${signal ?? code}) before ${what}; stderr:\n${errors}`)),
        );
      }),
    exited,
    stderr: () => errors,
  };
}
