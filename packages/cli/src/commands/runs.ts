import { EventTypes, type LedgerEvent, type LedgerQuery } from '@custody/core';
import { eventToolName } from '@custody/core/ledger';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { formatTable } from '../format.js';
import { type LedgerSource, queryEvents, withLedgerSource } from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags } from '../parse-flags.js';
import { FILTER_OPTIONS, queryFromFlags } from '../query-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody runs`. */
export const RUNS_HELP = `Usage: custody runs <store | export.jsonl> [options]

Lists runs, newest first: run id, start time, agent, actor, tenant, outcome ("open" while a run
has not ended), number of tool calls, trace id and the tools it called.

Options:
  --tenant <tenant>   runs of this tenant
  --actor <kind:id>   runs started by this actor (e.g. agent:triage-bot)
  --from <time>       runs started at or after this time (ISO 8601; UTC unless it has an offset)
  --to <time>         runs started before this time
  --tool <name>       runs that called this tool (e.g. stripe.refund)
  --type <type>       runs with an event of this type (repeatable, e.g. --type tool.denied)
  --limit <n>         show at most n runs (default 50)
  --schema <name>     PostgreSQL schema holding the tables (default custody)
  --json              print the runs as a JSON array
  -h, --help          show this help

${STORE_HELP},
or a JSONL export.

Examples:
  custody runs ./.custody/ledger.db --tenant acme --from 2026-11-01
  custody runs postgres://auditor@db:5432/app --tool stripe.refund --type tool.denied --limit 10`;

const DEFAULT_LIMIT = 50;

/** One line of the runs table. */
export interface RunSummary {
  readonly runId: string;
  readonly startedAt: string;
  /** `id@version`, or null when the start event's payload was redacted. */
  readonly agent: string | null;
  readonly actor: string;
  readonly tenant: string;
  /** The outcome `run.ended` recorded, or `open`. */
  readonly outcome: string;
  readonly calls: number;
  readonly traceId: string | null;
  readonly tools: readonly string[];
}

/** `custody runs`: a table of runs, newest first. */
export async function runsCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    ...FILTER_OPTIONS,
    limit: { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg] = expectPositionals(positionals, ['store']);
  const query = queryFromFlags(values);
  const limit = parseLimit(values.limit);
  const target = parseStoreArg(storeArg, { schema: values.schema });
  const { runs, total } = await withLedgerSource(target, (source) => listRuns(source, query, limit));

  if (values.json) {
    writeLine(io.stdout, JSON.stringify(runs, null, 2));
  } else if (runs.length === 0) {
    writeLine(io.stdout, Object.keys(query).length > 0 ? 'no runs match' : 'no runs');
  } else {
    writeLine(
      io.stdout,
      formatTable(
        ['RUN', 'STARTED', 'AGENT', 'ACTOR', 'TENANT', 'OUTCOME', 'CALLS', 'TRACE', 'TOOLS'],
        runs.map((run) => [
          run.runId,
          run.startedAt,
          run.agent ?? '-',
          run.actor,
          run.tenant,
          run.outcome,
          String(run.calls),
          run.traceId ?? '-',
          run.tools.join(', ') || '-',
        ]),
      ),
    );
  }
  if (total > runs.length) {
    writeLine(io.stderr, `showing the newest ${runs.length} of ${total} runs; pass --limit to see more`);
  }
  return ExitCode.ok;
}

function parseLimit(value: string | undefined): number {
  if (value === undefined) return DEFAULT_LIMIT;
  const limit = /^\d+$/.test(value.trim()) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(limit) || limit < 1) {
    throw new UsageError(`--limit must be a positive whole number, got ${JSON.stringify(value)}`);
  }
  return limit;
}

/**
 * Finds the runs the filters select (tenant, actor and time by the run's start; tool and type by
 * any event of it), newest first, and summarises the first `limit`.
 */
async function listRuns(
  source: LedgerSource,
  query: LedgerQuery,
  limit: number,
): Promise<{ runs: RunSummary[]; total: number }> {
  const { tenant, actor, from, to, tool, type } = query;
  let starts = await queryEvents(source, {
    type: EventTypes.runStarted,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(actor !== undefined ? { actor } : {}),
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
  });
  if (tool !== undefined || type !== undefined) {
    const matching = await queryEvents(source, {
      ...(tool !== undefined ? { tool } : {}),
      ...(type !== undefined ? { type } : {}),
      ...(tenant !== undefined ? { tenant } : {}),
    });
    const runIds = new Set(matching.map((event) => event.runId));
    starts = starts.filter((event) => runIds.has(event.runId));
  }
  // Newest first; runs started in the same millisecond keep reverse ledger order.
  const newest = starts
    .filter((event): event is LedgerEvent & { runId: string } => event.runId !== null)
    .reverse()
    .sort((a, b) => (a.ts < b.ts ? 1 : a.ts > b.ts ? -1 : 0));
  const runs = await Promise.all(newest.slice(0, limit).map((start) => summarise(source, start)));
  return { runs, total: newest.length };
}

async function summarise(source: LedgerSource, start: LedgerEvent & { runId: string }): Promise<RunSummary> {
  const events = await queryEvents(source, {
    runId: start.runId,
    type: [EventTypes.toolRequested, EventTypes.runEnded],
  });
  const requests = events.filter((event) => event.type === EventTypes.toolRequested);
  const ended = events.find((event) => event.type === EventTypes.runEnded);
  const end = ended?.payload as { outcome?: unknown; calls?: unknown } | null | undefined;
  const agent = (start.payload as { agent?: { id?: unknown; version?: unknown } } | null)?.agent;
  return {
    runId: start.runId,
    startedAt: start.ts,
    agent: agent ? `${String(agent.id)}@${String(agent.version)}` : null,
    actor: start.actor,
    tenant: start.tenant,
    outcome: ended ? (typeof end?.outcome === 'string' ? end.outcome : 'ended') : 'open',
    calls: typeof end?.calls === 'number' ? end.calls : requests.length,
    traceId: start.traceId,
    tools: [...new Set(requests.flatMap((event) => eventToolName(event) ?? []))],
  };
}
