import type { CliOutput } from './cli-io.js';

/** Progress of a long job, drawn on one terminal line. */
export interface Progress {
  /** Reports how many of the total are done. Cheap to call often: draws at most every `step`. */
  update(done: number): void;
  /** Clears the line. */
  finish(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  readonly output: CliOutput;
  readonly total: number;
  /** What is counted, plural: `events`. */
  readonly noun: string;
  /** Below this total nothing is drawn: a short job needs no indicator. Default 1000. */
  readonly minTotal?: number;
  /** Draw every this many. Default 1% of the total, at least 100. */
  readonly step?: number;
}

const SILENT: Progress = { update: () => {}, finish: () => {} };

/**
 * A progress line on a terminal (`\r`-redrawn), or nothing at all when the output is not a
 * terminal (a pipe or a file must not fill with carriage returns) or the job is short.
 */
export function createProgress(options: ProgressOptions): Progress {
  const { output, total, noun } = options;
  if (!output.isTTY || total < (options.minTotal ?? 1000)) return SILENT;
  const step = options.step ?? Math.max(100, Math.floor(total / 100));
  let drawn = -step;
  return {
    update(done) {
      if (done - drawn < step && done !== total) return;
      drawn = done;
      const percent = Math.floor((done / total) * 100);
      output.write(`\r\u001b[2K${done}/${total} ${noun} (${percent}%)`);
    },
    finish() {
      if (drawn >= 0) output.write('\r\u001b[2K');
    },
  };
}
