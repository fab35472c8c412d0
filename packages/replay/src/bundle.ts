import {
  type CheckpointKeys,
  CustodyError,
  type LedgerCheckpoint,
  type LedgerEvent,
  type LedgerStore,
  readAll,
  type ToolCatalogEntry,
  verifyLedger,
} from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { z } from 'zod';
import { type RecordedStep, recordedSteps } from './recorded-steps.js';

/** The `format` of every bundle. */
export const BUNDLE_FORMAT = 'custody-replay-bundle';
/** The bundle version this package writes and reads. */
export const BUNDLE_VERSION = 1;

const hash = z.string().regex(/^[0-9a-f]{64}$/);
const principal = z.object({
  kind: z.enum(['user', 'service', 'workflow', 'agent']),
  id: z.string(),
  roles: z.array(z.string()),
  scopes: z.array(z.string()).nullable(),
  tenant: z.string().nullable(),
});
const scope = z.object({
  tenant: z.string(),
  workspace: z.string().optional(),
  project: z.string().optional(),
  customer: z.string().optional(),
});
const event = z.object({
  schemaVersion: z.literal(1),
  id: z.string(),
  stream: z.string(),
  seq: z.number().int().nonnegative(),
  runId: z.string().nullable(),
  traceId: z.string().nullable(),
  spanId: z.string().nullable(),
  ts: z.string(),
  type: z.string(),
  tenant: z.string(),
  actor: z.string(),
  payloadHash: hash,
  prevHash: hash,
  hash,
  payload: z.unknown(),
  salt: z.string().nullable(),
});

/**
 * The zod schema of a replay bundle (version 1). `bundle.schema.json` in this package is its
 * JSON Schema rendering, for tools in other languages.
 */
export const replayBundleSchema = z.object({
  format: z.literal(BUNDLE_FORMAT),
  version: z.literal(BUNDLE_VERSION),
  exportedAt: z.string(),
  run: z.object({
    runId: z.string(),
    traceId: z.string().nullable(),
    tenant: z.string(),
    agent: z.object({ id: z.string(), version: z.string(), tools: z.array(z.string()) }),
    principal,
    onBehalfOf: principal.nullable(),
    scope,
    metadata: z.record(z.string(), z.unknown()),
    policy: z.object({ id: z.string(), version: z.string(), hash: z.string() }),
    startedAt: z.string(),
    endedAt: z.string().nullable(),
    outcome: z.enum(['succeeded', 'failed', 'abandoned', 'rolled_back']).nullable(),
  }),
  /** The tool catalog the run saw: names, versions, effect classes and schema hashes. */
  tools: z.array(
    z.object({
      name: z.string(),
      version: z.string(),
      effect: z.enum(['read', 'write', 'destructive', 'external_send']),
      scopes: z.array(z.string()),
      inputSchemaHash: hash,
      outputSchemaHash: hash,
    }),
  ),
  /** Model configuration per model call, in call order. */
  models: z.array(
    z.object({
      step: z.number().int(),
      role: z.string(),
      provider: z.string().nullable(),
      model: z.string(),
      params: z.record(z.string(), z.unknown()).nullable(),
      promptTemplate: z.object({ id: z.string(), version: z.string() }).nullable(),
    }),
  ),
  /** Retrieved documents per retrieval: ids, versions and content hashes. */
  retrievals: z.array(
    z.object({
      step: z.number().int(),
      source: z.string(),
      sourceVersion: z.string().nullable(),
      documents: z.array(z.object({ id: z.string(), version: z.string().nullable(), contentHash: hash })),
    }),
  ),
  /** Every answer that crossed the run's door, in order, rebuilt from `events`. */
  steps: z.array(z.looseObject({ kind: z.enum(['model', 'retrieval', 'tool', 'clock', 'id']) })),
  /** The run's ledger events, exactly as stored (they verify on their own). */
  events: z.array(event).min(1),
});

/** A replay bundle: one run, self-contained. */
export interface ReplayBundle extends Omit<z.infer<typeof replayBundleSchema>, 'steps' | 'events' | 'tools'> {
  readonly tools: readonly ToolCatalogEntry[];
  readonly steps: readonly RecordedStep[];
  readonly events: readonly LedgerEvent[];
}

/** Options of {@link exportBundle}. */
export interface ExportBundleOptions {
  /** Verify against these checkpoints too (default: those the store keeps). */
  checkpoints?: readonly LedgerCheckpoint[];
  /** Require checkpoints signed by these keys. */
  keys?: CheckpointKeys;
  /** Time of export; defaults to now. */
  exportedAt?: string;
}

/**
 * Builds the replay bundle of one run from any ledger store. The run's events are verified first
 * (against the store's checkpoints, and with `keys` their signatures): a bundle from a tampered
 * ledger is refused with the verification problem.
 *
 * @example
 * ```ts
 * const bundle = await exportBundle(stores.ledger, run.runId);
 * writeFileSync('fixtures/refund.bundle.json', JSON.stringify(bundle, null, 2));
 * ```
 */
export async function exportBundle(
  store: LedgerStore,
  runId: string,
  options: ExportBundleOptions = {},
): Promise<ReplayBundle> {
  const events = await readAll(store, { runId });
  if (events.length === 0) {
    throw new CustodyError(
      'CUSTODY_INVALID_ARGUMENT',
      `no events for run "${runId}" in this ledger: check the run id`,
      {
        details: { runId },
      },
    );
  }
  const checkpoints = options.checkpoints ?? (store.listCheckpoints ? await store.listCheckpoints() : []);
  const verification = verifyLedger(events, {
    checkpoints,
    streams: [runId],
    ...(options.keys ? { keys: options.keys } : {}),
  });
  if (!verification.ok) {
    const { problem } = verification;
    throw new CustodyError(
      'CUSTODY_LEDGER_TAMPERED',
      `run ${runId} does not verify (${problem.code}, ${problem.kind} at event ${problem.index}): ${problem.message}; no bundle was made`,
      { details: { problem } },
    );
  }
  return bundleFromEvents(events, options.exportedAt ?? new Date().toISOString());
}

/** Builds a bundle from a run's verified events (seq order). */
export function bundleFromEvents(events: readonly LedgerEvent[], exportedAt: string): ReplayBundle {
  const started = events[0]!;
  if (started.type !== 'run.started' || started.payload === null) {
    throw new CustodyError(
      'CUSTODY_BUNDLE_INVALID',
      `the first event of run ${started.runId} is not a readable run.started`,
    );
  }
  const start = started.payload as Record<string, unknown>;
  const ended = events.findLast((candidate) => candidate.type === 'run.ended');
  const steps = recordedSteps(events);
  const models: ReplayBundle['models'] = [];
  const retrievals: ReplayBundle['retrievals'] = [];
  steps.forEach((step, index) => {
    if (step.kind === 'model') {
      models.push({
        step: index,
        role: step.role,
        provider: step.request.provider ?? null,
        model: step.request.model,
        params: (step.request.params as Record<string, unknown> | undefined) ?? null,
        promptTemplate: step.request.promptTemplate ?? null,
      });
    } else if (step.kind === 'retrieval') {
      retrievals.push({
        step: index,
        source: step.source,
        sourceVersion: step.sourceVersion,
        documents: step.documents.map(({ id, version, contentHash }) => ({ id, version, contentHash })),
      });
    }
  });
  const principalOf = (value: unknown) => value as ReplayBundle['run']['principal'];
  return {
    format: BUNDLE_FORMAT,
    version: BUNDLE_VERSION,
    exportedAt,
    run: {
      runId: started.runId ?? started.stream,
      traceId: started.traceId,
      tenant: started.tenant,
      agent: start.agent as ReplayBundle['run']['agent'],
      principal: principalOf(start.principal),
      onBehalfOf: start.onBehalfOf ? principalOf(start.onBehalfOf) : null,
      scope: start.scope as ReplayBundle['run']['scope'],
      metadata: (start.metadata as Record<string, unknown>) ?? {},
      policy: start.policy as ReplayBundle['run']['policy'],
      startedAt: started.ts,
      endedAt: ended?.ts ?? null,
      outcome: ((ended?.payload as { outcome?: string } | null)?.outcome ??
        null) as ReplayBundle['run']['outcome'],
    },
    tools: (start.tools as ToolCatalogEntry[]) ?? [],
    models,
    retrievals,
    steps,
    events,
  };
}

/**
 * Reads a bundle (an object or its JSON text) and checks it: the shape (a clear error names the
 * field), the events' hash chain, and that every derived section matches the events, so an
 * edited bundle is refused rather than replayed.
 */
export function loadBundle(input: unknown): ReplayBundle {
  let value = input;
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input);
    } catch (error) {
      throw new CustodyError('CUSTODY_BUNDLE_INVALID', `bundle is not JSON: ${(error as Error).message}`);
    }
  }
  const parsed = replayBundleSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const format = (value as { format?: unknown } | null)?.format;
    const hint =
      format === BUNDLE_FORMAT
        ? ''
        : ` (is this a replay bundle? its "format" must be "${BUNDLE_FORMAT}", got ${JSON.stringify(format)})`;
    throw new CustodyError(
      'CUSTODY_BUNDLE_INVALID',
      `bundle is invalid at ${issue.path.join('.') || 'the top level'}: ${issue.message}${hint}`,
      {
        details: { issues: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })) },
      },
    );
  }
  const bundle = value as ReplayBundle;
  const stream = bundle.events[0]!.stream;
  const stray = bundle.events.find((event) => event.stream !== stream || event.runId !== bundle.run.runId);
  if (stray) {
    throw new CustodyError(
      'CUSTODY_BUNDLE_INVALID',
      `bundle event ${stray.id} does not belong to run ${bundle.run.runId}: a bundle holds exactly one run`,
    );
  }
  const verification = verifyLedger(bundle.events);
  if (!verification.ok) {
    throw new CustodyError(
      'CUSTODY_LEDGER_TAMPERED',
      `bundle events do not verify (${verification.problem.code} at ${verification.problem.index}): ${verification.problem.message}`,
      { details: { problem: verification.problem } },
    );
  }
  const rebuilt = bundleFromEvents(bundle.events, bundle.exportedAt);
  for (const section of ['run', 'tools', 'models', 'retrievals', 'steps'] as const) {
    if (canonicalize(rebuilt[section]) !== canonicalize(bundle[section])) {
      throw new CustodyError(
        'CUSTODY_BUNDLE_INVALID',
        `bundle section "${section}" does not match its events: the bundle was edited; export it again`,
        { details: { section } },
      );
    }
  }
  return bundle;
}
