import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { describeSource, queryEvents, withLedgerSource } from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags } from '../parse-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { describeEvent, renderTimeline } from '../timeline.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody show`. */
export const SHOW_HELP = `Usage: custody show <store | export.jsonl> <runId> [options]

Prints a run's timeline, one line per event: inputs, retrievals, policy decisions, approvals,
tool calls and outputs, under the run id, trace id and tenant. Colored on a terminal unless
NO_COLOR is set.

Options:
  --schema <name>  PostgreSQL schema holding the tables (default custody)
  --json           print the run and its timeline entries as JSON
  -h, --help       show this help

${STORE_HELP},
or a JSONL export.

Example:
  custody show ./.custody/ledger.db run_01hx…`;

/** `custody show`: the readable timeline of one run. Resolves to 1 when the run has no events. */
export async function showCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg, runId] = expectPositionals(positionals, ['store', 'runId']) as [string, string];
  if (runId.trim() === '') throw new UsageError('<runId> is empty: custody runs lists the run ids');
  const target = parseStoreArg(storeArg, { schema: values.schema });
  const events = await withLedgerSource(target, (source) => queryEvents(source, { runId }));
  if (events.length === 0) {
    writeLine(
      io.stderr,
      `custody show: no events of run ${runId} in ${describeSource(target)}; list the runs with: custody runs ${storeArg}`,
    );
    return ExitCode.failed;
  }
  if (values.json) {
    const first = events[0]!;
    writeLine(
      io.stdout,
      JSON.stringify(
        {
          runId,
          traceId: first.traceId,
          tenant: first.tenant,
          actor: first.actor,
          timeline: events.map((event) => ({ id: event.id, actor: event.actor, ...describeEvent(event) })),
        },
        null,
        2,
      ),
    );
    return ExitCode.ok;
  }
  const env = io.env ?? process.env;
  const color = io.stdout.isTTY === true && (env.NO_COLOR === undefined || env.NO_COLOR === '');
  writeLine(io.stdout, renderTimeline(events, { color }));
  return ExitCode.ok;
}
