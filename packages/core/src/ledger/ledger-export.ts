import { CustodyError } from '../errors.js';
import { canonicalize } from './canonical-json.js';
import type { LedgerCheckpoint } from './checkpoint.js';
import type { LedgerEvent } from './event.js';
import { eventToolName } from './event-fields.js';

/** First line of a JSONL export. */
export interface LedgerExportHeader {
  readonly format: 'custody-ledger';
  readonly version: 1;
  readonly exportedAt: string;
  /** The filters the export was made with, for the reader's information. */
  readonly query: Readonly<Record<string, unknown>>;
}

/**
 * Lines of a JSONL export: a header, every event as its canonical JSON (exactly the bytes whose
 * parts were hashed), then every checkpoint as `{"checkpoint":…}`. Verifiable offline.
 */
export function* jsonlLines(
  header: LedgerExportHeader,
  events: Iterable<LedgerEvent>,
  checkpoints: Iterable<LedgerCheckpoint>,
): Generator<string> {
  yield canonicalize(header);
  for (const event of events) yield canonicalize(event);
  for (const checkpoint of checkpoints) yield canonicalize({ checkpoint });
}

/** What {@link parseJsonlExport} reads back. */
export interface ParsedLedgerExport {
  readonly header: LedgerExportHeader | undefined;
  readonly events: LedgerEvent[];
  readonly checkpoints: LedgerCheckpoint[];
}

/**
 * Reads a JSONL export. Throws `CUSTODY_INVALID_ARGUMENT` naming the line when a line is not
 * JSON or not canonical (an edited export is refused here, before verification even starts).
 */
export function parseJsonlExport(text: string): ParsedLedgerExport {
  const events: LedgerEvent[] = [];
  const checkpoints: LedgerCheckpoint[] = [];
  let header: LedgerExportHeader | undefined;
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (line.trim() === '') continue;
    let value: Record<string, unknown>;
    try {
      value = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `export line ${i + 1} is not JSON: ${(error as Error).message}`,
      );
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      throw new CustodyError('CUSTODY_INVALID_ARGUMENT', `export line ${i + 1} is not a JSON object`);
    }
    let canonical: string;
    try {
      canonical = canonicalize(value);
    } catch {
      canonical = '';
    }
    if (canonical !== line) {
      throw new CustodyError(
        'CUSTODY_INVALID_ARGUMENT',
        `export line ${i + 1} is not in canonical form (RFC 8785): the file was edited or not written by Custody`,
        { details: { line: i + 1 } },
      );
    }
    if (value.format === 'custody-ledger') header = value as unknown as LedgerExportHeader;
    else if ('checkpoint' in value) checkpoints.push(value.checkpoint as LedgerCheckpoint);
    else events.push(value as unknown as LedgerEvent);
  }
  return { header, events, checkpoints };
}

/** The fixed columns of a CSV export. */
export const CSV_COLUMNS = [
  'id',
  'stream',
  'seq',
  'ts',
  'type',
  'tenant',
  'actor',
  'run_id',
  'trace_id',
  'span_id',
  'tool',
  'status',
  'hash',
  'prev_hash',
  'payload_hash',
  'payload',
] as const;

/**
 * A CSV cell: quoted per RFC 4180, and neutralised against formula injection (a spreadsheet would
 * run a cell that starts with `=`, `+`, `-`, `@`, tab or carriage return), by a leading `'`.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n']/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}

/** Lines of a CSV export: a header row, then one row per event. */
export function* csvLines(events: Iterable<LedgerEvent>): Generator<string> {
  yield CSV_COLUMNS.join(',');
  for (const event of events) {
    const payload = event.payload as { status?: unknown; outcome?: unknown; effect?: unknown } | null;
    const status = payload?.status ?? payload?.outcome ?? payload?.effect ?? '';
    yield [
      event.id,
      event.stream,
      event.seq,
      event.ts,
      event.type,
      event.tenant,
      event.actor,
      event.runId,
      event.traceId,
      event.spanId,
      eventToolName(event) ?? '',
      status,
      event.hash,
      event.prevHash,
      event.payloadHash,
      event.payload === null ? '(redacted)' : canonicalize(event.payload),
    ]
      .map(csvCell)
      .join(',');
  }
}
