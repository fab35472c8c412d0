import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'vitest';
import { loadBundle } from '../bundle.js';
import { type ReplayMode, type ReplayResult, replay } from '../replay.js';
import type { ReplaySetup } from '../replay-setup.js';

/** Options of {@link describeReplays}. */
export interface DescribeReplaysOptions {
  mode?: ReplayMode;
  /** Which files are bundles. Default: names ending in `.bundle.json`. */
  match?: RegExp;
  /** Per-test timeout in milliseconds. */
  timeoutMs?: number;
}

/** Throws an error carrying the replay report when a replay did not match. */
export function expectReplayMatched(result: ReplayResult): void {
  if (result.status !== 'matched') throw new Error(`\n${result.report()}`);
}

/**
 * Defines one vitest test per bundle in a fixtures folder: each is loaded (and verified), replayed
 * against the app's current agent and tools, and fails with the divergence report if it does not
 * match. Commit the bundles of runs whose behaviour must not change.
 *
 * @example
 * ```ts
 * // golden.test.ts
 * describeReplays(new URL('../fixtures', import.meta.url).pathname, replaySetup);
 * ```
 */
export function describeReplays(
  folder: string,
  setup: ReplaySetup,
  options: DescribeReplaysOptions = {},
): void {
  const match = options.match ?? /\.bundle\.json$/;
  const files = readdirSync(folder)
    .filter((name) => match.test(name))
    .sort();
  describe(`replays of ${folder}`, () => {
    if (files.length === 0) {
      it('has bundles to replay', () => {
        throw new Error(`no files matching ${match} in ${folder}: record some runs with exportBundle first`);
      });
    }
    for (const file of files) {
      it(
        file,
        async () => {
          const bundle = loadBundle(readFileSync(join(folder, file), 'utf8'));
          const result = await replay(bundle, (run) => setup.agent(run, bundle), {
            tools: setup.tools,
            ...(options.mode ? { mode: options.mode } : {}),
            ...(setup.redaction ? { redaction: setup.redaction } : {}),
          });
          expectReplayMatched(result);
        },
        options.timeoutMs ?? 30_000,
      );
    }
  });
}
