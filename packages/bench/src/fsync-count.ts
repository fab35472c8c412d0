import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Options of {@link countSqliteFsyncs}. */
export interface FsyncCountOptions {
  /** Raw commits, gated writes and gated reads counted (each). */
  calls: number;
  /** Of each, made first and not counted (opening, migrating and `run.started` never are). */
  warmup: number;
}

/** The phases the child process marks, in the order it runs them. */
export const FSYNC_PHASES = ['raw', 'write', 'read'] as const;
export type FsyncPhase = (typeof FSYNC_PHASES)[number];

/** Sync calls of one phase, by the file they synced. */
export interface SyncCounts {
  /** fsync, fdatasync, sync_file_range and syncfs calls, every file together. */
  readonly total: number;
  /** On a `-wal` file: a commit (SQLite syncs the WAL at each commit with synchronous=FULL), or a checkpoint's first sync. */
  readonly wal: number;
  /** On a database file itself: a checkpoint copying the WAL back. */
  readonly database: number;
  /** Anything else (a rollback journal, a folder). */
  readonly other: number;
}

/** The sync calls per call of one phase. */
export interface FsyncPerCall {
  readonly calls: number;
  readonly counts: SyncCounts;
  /** `counts.total / calls`. */
  readonly perCall: number;
  /**
   * WAL syncs that were commits, per call: WAL syncs less two per database sync, over calls. A
   * checkpoint syncs the WAL, then the database; the first commit into the restarted WAL syncs
   * its new header once more (synchronous=FULL) before its own commit sync.
   */
  readonly commitsPerCall: number;
}

/** What {@link countSqliteFsyncs} found, or why it could not count. */
export type FsyncFigures =
  | {
      readonly status: 'measured';
      readonly calls: number;
      /** The strace command line used, the child's own arguments left out. */
      readonly tracer: string;
      readonly raw: FsyncPerCall;
      readonly write: FsyncPerCall;
      readonly read: FsyncPerCall;
      readonly seconds: number;
    }
  | { readonly status: 'skipped'; readonly reason: string };

/** Where the child's markers point: a path that never exists, so each is one failed `access`. */
export const FSYNC_MARKER_ROOT = '/custody-bench-fsync-marker';

const SYNC_CALL = /(?:^|\s)(?:fsync|fdatasync|sync_file_range2?|syncfs)\((\d+)(?:<([^>]*)>)?/;
const MARKER = new RegExp(`"${FSYNC_MARKER_ROOT}/([a-z]+):(begin|end)"`);

/**
 * Counts the sync calls between each phase's begin and end markers in an `strace -f -y` log.
 * Only a call's first line counts (a `<... fsync resumed>` line has no parenthesis after the name).
 */
export function countSyncCalls(log: string): Partial<Record<FsyncPhase, SyncCounts>> {
  const counts: Partial<Record<FsyncPhase, { total: number; wal: number; database: number; other: number }>> =
    {};
  let phase: FsyncPhase | undefined;
  for (const line of log.split('\n')) {
    const marker = MARKER.exec(line);
    if (marker) {
      const name = marker[1] as FsyncPhase;
      if (!FSYNC_PHASES.includes(name)) continue;
      if (marker[2] === 'begin') {
        phase = name;
        counts[name] = { total: 0, wal: 0, database: 0, other: 0 };
      } else if (phase === name) {
        phase = undefined;
      }
      continue;
    }
    if (phase === undefined) continue;
    const sync = SYNC_CALL.exec(line);
    if (!sync) continue;
    const counter = counts[phase]!;
    const file = sync[2] ?? '';
    counter.total++;
    if (file.endsWith('-wal')) counter.wal++;
    else if (file.endsWith('.db')) counter.database++;
    else counter.other++;
  }
  return counts;
}

function perCall(counts: SyncCounts, calls: number): FsyncPerCall {
  return {
    calls,
    counts,
    perCall: counts.total / calls,
    commitsPerCall: (counts.wal - 2 * counts.database) / calls,
  };
}

/** strace when it is on the PATH and runs, or why not. */
function findStrace(): string | { reason: string } {
  const probe = spawnSync('strace', ['-V'], { encoding: 'utf8' });
  if (probe.error) {
    return {
      reason: `strace is not available (${probe.error.message}); install it (apt-get install strace) to count fsyncs`,
    };
  }
  if (probe.status !== 0) return { reason: `strace -V exited with ${probe.status}: ${probe.stderr.trim()}` };
  return 'strace';
}

/**
 * fsyncs per lone gated write and read on SQLite, and per raw commit for comparison: a child node
 * process (same flags and loader as this one) opens the store and a raw-commit file in a fresh
 * temporary folder and makes the calls one at a time under `strace -f -y`, marking where each
 * phase begins and ends with an `access` of a path that does not exist; the syncs between the
 * markers are counted by the file they synced. Skipped, with the reason, when strace is missing
 * or cannot trace (ptrace not permitted).
 */
export async function countSqliteFsyncs(options: FsyncCountOptions): Promise<FsyncFigures> {
  const strace = findStrace();
  if (typeof strace !== 'string') return { status: 'skipped', reason: strace.reason };
  const started = process.hrtime.bigint();
  const folder = mkdtempSync(join(tmpdir(), 'custody-bench-fsync-'));
  const logFile = join(folder, 'strace.log');
  const entry = fileURLToPath(new URL('./fsync-count-entry.ts', import.meta.url));
  const traceArgs = [
    '-f',
    '-y',
    '-qq',
    '-e',
    'trace=fsync,fdatasync,sync_file_range,syncfs,access,faccessat,faccessat2',
  ];
  try {
    const child = spawn(
      strace,
      [
        ...traceArgs,
        '-o',
        logFile,
        process.execPath,
        ...process.execArgv,
        entry,
        JSON.stringify({ ...options, folder }),
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const code = await new Promise<number | null>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', resolve);
    });
    if (code !== 0 || !stdout.includes('"done":true')) {
      const lines = stderr.trim().split('\n');
      const detail =
        lines.find((line) => /Error/.test(line))?.trim() ?? (lines.at(-1) || `exit code ${code}`);
      return { status: 'skipped', reason: `the fsync-counting child under strace failed (${detail})` };
    }
    const counts = countSyncCalls(readFileSync(logFile, 'utf8'));
    const missing = FSYNC_PHASES.filter((phase) => counts[phase] === undefined);
    if (missing.length > 0) {
      return {
        status: 'skipped',
        reason: `strace recorded no markers for ${missing.join(', ')} (is access() traced on this platform?)`,
      };
    }
    return {
      status: 'measured',
      calls: options.calls,
      tracer: `strace ${traceArgs.join(' ')}`,
      raw: perCall(counts.raw!, options.calls),
      write: perCall(counts.write!, options.calls),
      read: perCall(counts.read!, options.calls),
      seconds: Number(process.hrtime.bigint() - started) / 1e9,
    };
  } finally {
    rmSync(folder, { recursive: true, force: true });
  }
}
