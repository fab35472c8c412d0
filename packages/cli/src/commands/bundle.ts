import { existsSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { CustodyError, type LedgerQuery, type LedgerStore } from '@custody/core';
import { exportBundle, type ReplayBundle } from '@custody/replay';
import { readTrustedKeys, resolveKeyIds } from '../checkpoint-keys.js';
import { type CliIo, ExitCode, writeLine } from '../cli-io.js';
import { plural } from '../format.js';
import {
  describeSource,
  type LedgerSource,
  queryEvents,
  sourceCheckpoints,
  withLedgerSource,
} from '../ledger-source.js';
import { expectPositionals, HELP_OPTION, parseFlags } from '../parse-flags.js';
import { parseStoreArg, STORE_HELP } from '../store-arg.js';
import { UsageError } from '../usage-error.js';

/** Help of `custody bundle`. */
export const BUNDLE_HELP = `Usage: custody bundle <store | export.jsonl> <runId> [-o <file>] [options]

Writes the replay bundle of one run: its ledger events, the tool catalog it saw, its model
configuration, the documents it retrieved and every answer that crossed its door, in one JSON
file. replay() and describeReplays() (@custody/replay) replay it in a unit test, and a folder of
them is a regression set for custody eval. The run is verified first (its hash chain, the stored
checkpoints and, with --key, their signatures): a run that does not verify gets no bundle (exit 1).

Options:
  -o, --output <file>         write the bundle to this file (default: print it); refused if it
                              exists, unless --force
  --force                     overwrite an existing file
  --key <keyId>=<public.pem>  require checkpoints signed by this key (repeatable)
  --key <public.pem>          the same, with the key id from --key-id or the checkpoints
  --key-id <keyId>            the key id of a bare --key path
  --schema <name>             PostgreSQL schema holding the tables (default custody)
  --json                      with -o, print what was written as JSON
  -h, --help                  show this help

${STORE_HELP},
or a JSONL export of the run written by custody export.

A bundle holds the run's inputs and outputs in clear: keep it where you keep the ledger.

Examples:
  custody bundle ./.custody/ledger.db run_01hx… -o fixtures/refund.bundle.json
  custody bundle postgres://auditor@db:5432/app run_01hx… --key ledger-2026-11=keys/public.pem > run.bundle.json`;

/**
 * A read-only ledger store over the events of an export file, so an exported run is bundled (and
 * verified, against the checkpoints the export carries) exactly like a stored one.
 */
function exportAsStore(source: Extract<LedgerSource, { kind: 'export' }>): LedgerStore {
  return {
    specificationVersion: 'v1',
    append: () => Promise.reject(new Error('a JSONL export is read-only')),
    head: () => Promise.resolve(undefined),
    read: async (query: LedgerQuery = {}) => ({
      events: await queryEvents(source, { ...query, limit: undefined }),
    }),
    listCheckpoints: async () => source.parsed.checkpoints,
  };
}

/** `custody bundle`: verifies one run and writes its replay bundle to a file or stdout. */
export async function bundleCommand(args: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseFlags(args, {
    output: { type: 'string', short: 'o' },
    force: { type: 'boolean' },
    key: { type: 'string', multiple: true },
    'key-id': { type: 'string' },
    schema: { type: 'string' },
    json: { type: 'boolean' },
    ...HELP_OPTION,
  });
  const [storeArg, runId] = expectPositionals(positionals, ['store', 'runId']) as [string, string];
  if (runId.trim() === '') throw new UsageError('<runId> is empty: custody runs lists the run ids');
  if (values.json && values.output === undefined) {
    throw new UsageError(
      '--json describes the file written with -o; without -o the bundle itself is printed',
    );
  }
  const target = parseStoreArg(storeArg, { schema: values.schema });
  const path = values.output === undefined ? undefined : checkOutput(values.output, values.force === true);
  const keyFlags = readTrustedKeys(values.key ?? [], values['key-id'], (message) =>
    writeLine(io.stderr, `warning: ${message}`),
  );

  const bundle = await withLedgerSource(target, async (source): Promise<ReplayBundle | undefined> => {
    const store = source.kind === 'store' ? source.store : exportAsStore(source);
    const checkpoints = await sourceCheckpoints(source);
    const signedKeyIds = [...new Set(checkpoints.flatMap((checkpoint) => checkpoint.signature?.keyId ?? []))];
    const keys = keyFlags.length > 0 ? resolveKeyIds(keyFlags, signedKeyIds) : undefined;
    try {
      return await exportBundle(store, runId, { checkpoints, ...(keys ? { keys } : {}) });
    } catch (error) {
      // exportBundle's "no events for run": answered below with a pointer to custody runs.
      if (
        CustodyError.isInstance(error) &&
        error.code === 'CUSTODY_INVALID_ARGUMENT' &&
        'runId' in error.details
      ) {
        return undefined;
      }
      throw error;
    }
  });
  if (!bundle) {
    writeLine(
      io.stderr,
      `custody bundle: no events of run ${runId} in ${describeSource(target)}; list the runs with: custody runs ${storeArg}`,
    );
    return ExitCode.failed;
  }

  const json = `${JSON.stringify(bundle, null, 2)}\n`;
  if (path === undefined) {
    io.stdout.write(json);
    return ExitCode.ok;
  }
  // Written beside the target and renamed into place, so a failed write never leaves half a bundle.
  const partial = `${path}.${process.pid}.partial`;
  try {
    writeFileSync(partial, json, { flag: 'wx' });
    renameSync(partial, path);
  } catch (error) {
    rmSync(partial, { force: true });
    throw error;
  }
  const summary = {
    file: path,
    runId,
    outcome: bundle.run.outcome,
    steps: bundle.steps.length,
    events: bundle.events.length,
    tools: bundle.tools.map((tool) => `${tool.name}@${tool.version}`),
  };
  if (values.json) {
    writeLine(io.stdout, JSON.stringify(summary, null, 2));
    return ExitCode.ok;
  }
  writeLine(
    io.stdout,
    `custody bundle: wrote run ${runId} (${plural(summary.steps, 'step')}, ${plural(summary.events, 'event')}, outcome ${summary.outcome ?? 'open'}) from ${describeSource(target)} to ${values.output}; every event verified`,
  );
  return ExitCode.ok;
}

function checkOutput(output: string, force: boolean): string {
  const path = resolve(output);
  const folder = dirname(path);
  if (!existsSync(folder) || !statSync(folder).isDirectory()) {
    throw new UsageError(`the folder of -o ${output} (${folder}) does not exist; create it first`);
  }
  if (existsSync(path)) {
    if (!statSync(path).isFile()) throw new UsageError(`-o ${output} is not a file`);
    if (!force)
      throw new UsageError(`${output} already exists; choose another file or pass --force to replace it`);
  }
  return path;
}
