import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { CustodyError, type LedgerCheckpoint } from '@custody/core';
import { UsageError } from './usage-error.js';

/**
 * Where checkpoints are kept outside the ledger (`--anchor`): a folder, one JSON file per
 * checkpoint; or a file, one JSON line per checkpoint. Kept on another host or medium, an anchor
 * is what a ledger restored from an older copy cannot match.
 */
export interface AnchorTarget {
  readonly kind: 'folder' | 'file';
  /** Absolute path. */
  readonly path: string;
  /** As given on the command line, for messages. */
  readonly label: string;
}

/** The checkpoints read from one `--anchor`. */
export interface AnchorCheckpoints {
  readonly target: AnchorTarget;
  readonly checkpoints: LedgerCheckpoint[];
}

/** Help text describing the `--anchor` argument. */
export const ANCHOR_HELP =
  'a folder (one that exists, or a path ending in /) gets one new JSON file per checkpoint; any other path is a file that gets one JSON line appended per checkpoint (created if missing)';

/**
 * Reads where `custody checkpoint --anchor` writes, checking it before anything is opened: an
 * existing folder, a path ending in `/` (a folder to create), or a file whose folder exists.
 */
export function anchorForWriting(arg: string): AnchorTarget {
  const path = resolve(arg);
  if (existsSync(path)) {
    const stat = statSync(path);
    if (stat.isDirectory()) return { kind: 'folder', path, label: arg };
    if (stat.isFile()) return { kind: 'file', path, label: arg };
    throw new UsageError(`--anchor ${arg} is neither a file nor a folder`);
  }
  const folder = arg.endsWith('/') || arg.endsWith(sep);
  const parent = dirname(path);
  if (!existsSync(parent) || !statSync(parent).isDirectory()) {
    throw new UsageError(
      `--anchor ${arg}: the folder ${parent} does not exist; create it first (the anchor should live on another disk or host than the ledger)`,
    );
  }
  return { kind: folder ? 'folder' : 'file', path, label: arg };
}

/** Writes `checkpoint` to the anchor: a new file in a folder, or one line appended to a file. Returns where. */
export function writeAnchor(target: AnchorTarget, checkpoint: LedgerCheckpoint): string {
  const line = `${JSON.stringify(checkpoint)}\n`;
  if (target.kind === 'file') {
    appendFileSync(target.path, line, { mode: 0o644 });
    return target.path;
  }
  mkdirSync(target.path, { recursive: true });
  const stem = `checkpoint-${checkpoint.createdAt.replace(/[:.]/g, '-')}-${checkpoint.root.slice(0, 12)}`;
  for (let attempt = 0; ; attempt++) {
    const file = join(target.path, `${stem}${attempt === 0 ? '' : `-${attempt}`}.json`);
    try {
      // 'wx': never overwrite a checkpoint already anchored.
      writeFileSync(file, line, { flag: 'wx', mode: 0o644 });
      return file;
    } catch (error) {
      if ((error as { code?: string }).code !== 'EEXIST') throw error;
    }
  }
}

/**
 * Reads every checkpoint of an anchor for `custody verify --anchor`: each `*.json` (one
 * checkpoint) and `*.jsonl` (one per line) file of a folder, or the lines of a file. A missing
 * path, or one holding no checkpoint, is a usage error; an entry that is not a checkpoint fails
 * with `CUSTODY_INVALID_ARGUMENT`, naming the file and line.
 */
export function readAnchor(arg: string): AnchorCheckpoints {
  const path = resolve(arg);
  if (!existsSync(path)) {
    throw new UsageError(
      `--anchor ${arg} does not exist (looked at ${path}); give the file or folder custody checkpoint --anchor wrote`,
    );
  }
  const folder = statSync(path).isDirectory();
  const target: AnchorTarget = { kind: folder ? 'folder' : 'file', path, label: arg };
  const files = folder
    ? readdirSync(path)
        .filter((name) => name.endsWith('.json') || name.endsWith('.jsonl'))
        .sort()
        .map((name) => join(path, name))
    : [path];
  const checkpoints = files.flatMap((file) => parseAnchorFile(file, readFileSync(file, 'utf8')));
  if (checkpoints.length === 0) {
    throw new UsageError(
      `--anchor ${arg} holds no checkpoint; write one with custody checkpoint <store> --key … --anchor ${arg}`,
    );
  }
  return { target, checkpoints };
}

function parseAnchorFile(file: string, text: string): LedgerCheckpoint[] {
  const checkpoints: LedgerCheckpoint[] = [];
  for (const [index, line] of text.split('\n').entries()) {
    if (line.trim() === '') continue;
    const where = `anchor ${file} line ${index + 1}`;
    const parsed = parseJson(line);
    if (!parsed.ok) {
      // Not one checkpoint per line: perhaps a file holding a single pretty-printed one.
      const whole = parseJson(text);
      if (whole.ok) return [checkedCheckpoint(`anchor ${file}`, whole.value)];
      throw notACheckpoint(where, `not JSON (${parsed.error})`);
    }
    checkpoints.push(checkedCheckpoint(where, parsed.value));
  }
  return checkpoints;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; error: string } {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (error) {
    return { ok: false, error: error instanceof Error ? error.message : String(error) };
  }
}

function checkedCheckpoint(where: string, value: unknown): LedgerCheckpoint {
  const problem = checkpointShapeProblem(value);
  if (problem) throw notACheckpoint(where, problem);
  return value as LedgerCheckpoint;
}

function checkpointShapeProblem(value: unknown): string | undefined {
  const checkpoint = value as Partial<LedgerCheckpoint> | null;
  if (typeof checkpoint !== 'object' || checkpoint === null || Array.isArray(checkpoint))
    return 'not an object';
  if (checkpoint.schemaVersion !== 1)
    return `unknown schemaVersion ${JSON.stringify(checkpoint.schemaVersion)}`;
  if (typeof checkpoint.createdAt !== 'string') return 'createdAt is missing';
  if (typeof checkpoint.root !== 'string' || typeof checkpoint.count !== 'number')
    return 'root or count is missing';
  if (typeof checkpoint.heads !== 'object' || checkpoint.heads === null) return 'heads are missing';
  for (const [stream, head] of Object.entries(checkpoint.heads)) {
    if (typeof head?.seq !== 'number' || typeof head.hash !== 'string')
      return `the head of ${stream} is not { seq, hash }`;
  }
  return undefined;
}

function notACheckpoint(where: string, why: string): CustodyError {
  return new CustodyError(
    'CUSTODY_INVALID_ARGUMENT',
    `${where} is not a checkpoint: ${why}; an anchor holds only what custody checkpoint --anchor writes (was it edited?)`,
    { details: { where } },
  );
}
