import type { LedgerQuery } from '@custody/core';
import { UsageError } from './usage-error.js';

/** The ledger filters shared by `runs` and `export` (export adds `--run`). */
export const FILTER_OPTIONS = {
  tenant: { type: 'string' },
  actor: { type: 'string' },
  tool: { type: 'string' },
  type: { type: 'string', multiple: true },
  from: { type: 'string' },
  to: { type: 'string' },
} as const;

/** The filter flags' values, as parseArgs gives them. */
export interface FilterFlags {
  readonly run?: string | undefined;
  readonly tenant?: string | undefined;
  readonly actor?: string | undefined;
  readonly tool?: string | undefined;
  readonly type?: string[] | undefined;
  readonly from?: string | undefined;
  readonly to?: string | undefined;
}

/** Help lines for the filters, shared by the commands that take them. */
export const FILTER_HELP = `  --tenant <tenant>   only this tenant
  --actor <kind:id>   only this actor (e.g. agent:triage-bot, user:alice)
  --tool <name>       only events about this tool (e.g. stripe.refund)
  --type <type>       only this event type (repeatable, e.g. --type tool.denied)
  --from <time>       from this time on, inclusive (ISO 8601; UTC unless it has an offset)
  --to <time>         before this time, exclusive`;

const ISO_TIME =
  /^\d{4}-\d{2}-\d{2}(?:[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?<zone>Z|[+-]\d{2}:?\d{2})?)?$/i;

/**
 * Reads an ISO 8601 date or time as the ledger's UTC form (`2026-01-31T00:00:00.000Z`): events are
 * compared by their `ts` text, so every bound must be in exactly that form.
 */
export function parseTimeFlag(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  const match = ISO_TIME.exec(trimmed);
  // A date alone is UTC midnight to Date.parse, a date-time without an offset local time: make both UTC.
  const text = match && !match.groups?.zone && trimmed.length > 10 ? `${trimmed}Z` : trimmed;
  const time = match ? Date.parse(text.replace(' ', 'T')) : Number.NaN;
  if (Number.isNaN(time)) {
    throw new UsageError(
      `${flag} must be an ISO 8601 date or time such as 2026-01-31 or 2026-01-31T12:00:00Z, got ${JSON.stringify(value)}`,
    );
  }
  return new Date(time).toISOString();
}

/** Builds the ledger query the filter flags describe. */
export function queryFromFlags(flags: FilterFlags): LedgerQuery {
  const from = parseTimeFlag(flags.from, '--from');
  const to = parseTimeFlag(flags.to, '--to');
  if (from !== undefined && to !== undefined && from >= to) {
    throw new UsageError(`--from (${from}) must be before --to (${to})`);
  }
  for (const [flag, value] of [
    ['--run', flags.run],
    ['--tenant', flags.tenant],
    ['--actor', flags.actor],
    ['--tool', flags.tool],
    ...(flags.type ?? []).map((type) => ['--type', type] as const),
  ] as const) {
    if (value !== undefined && value.trim() === '') throw new UsageError(`${flag} needs a non-empty value`);
  }
  const type = flags.type && flags.type.length > 0 ? flags.type : undefined;
  return {
    ...(flags.run !== undefined ? { runId: flags.run } : {}),
    ...(flags.tenant !== undefined ? { tenant: flags.tenant } : {}),
    ...(flags.actor !== undefined ? { actor: flags.actor } : {}),
    ...(flags.tool !== undefined ? { tool: flags.tool } : {}),
    ...(type ? { type: type.length === 1 ? type[0]! : type } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  };
}
