import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createMemoryStores,
  createRuntime,
  type LedgerStore,
  type Run,
  type RuntimeStores,
} from '@custody/core';
import { exportBundle, loadBundle, type ReplayBundle, replay } from '@custody/replay';
import { createSqliteStores } from '@custody/store-sqlite';
import { collectGarbage, type Timing, timeEachCall } from './measure.js';
import { supportPolicy } from './support-policy.js';
import { createTicketTool, getTicketTool, ticketDrafts } from './ticket-tools.js';

/** Options of {@link measureReplayBundle}. */
export interface ReplayBundleOptions {
  /** Door uses of the recorded run (a multiple of 5: clock, id, retrieval, model, tool call). */
  steps: number;
  /** Replays (and exports) timed. */
  iterations: number;
  warmup: number;
}

/** Timings of replaying one recorded run and of exporting its bundle. */
export interface ReplayBundleFigures {
  readonly steps: number;
  readonly events: number;
  /** Size of the bundle as JSON text. */
  readonly bundleBytes: number;
  /** `replay(bundle, agent, { tools })` in recorded mode, the bundle already loaded. */
  readonly replay: Timing;
  /** `loadBundle(json)`: parse, schema check, hash-chain verification, sections rebuilt and compared. */
  readonly loadBundle: Timing;
  /** `exportBundle(store, runId)` from the memory store and from a SQLite file. */
  readonly exportMemory: Timing;
  readonly exportSqlite: Timing;
  /** The target for one replay of a 100-step bundle, in milliseconds. */
  readonly targetMs: number;
}

const TOOLS = [createTicketTool, getTicketTool];
const AGENT = { id: 'support-bot', version: '1.0.0', tools: ['tickets.*'] };

/**
 * The agent under measurement: each turn reads the clock, mints an id, retrieves a document, asks
 * the model and calls a tool (alternating a write and a read), so `steps / 5` turns make `steps`
 * door uses, every kind represented.
 */
function stepAgent(steps: number) {
  const drafts = ticketDrafts(steps);
  return async (run: Run) => {
    for (let turn = 0; turn < steps / 5; turn++) {
      const at = run.now().toISOString();
      const id = run.id();
      const docs = await run.retrieve('kb', `refund policy ${turn}`, async () => [
        { id: `kb/${turn}`, content: 'Refunds under $100 are automatic.', version: '1' },
      ]);
      const reply = await run.model('planner', {
        model: 'fake-1',
        messages: [{ role: 'user', content: `turn ${turn} ${id} at ${at}: ${docs[0]!.id}` }],
      });
      const result =
        turn % 2 === 0
          ? await run.call(createTicketTool, {
              ...drafts[turn]!,
              title: `${drafts[turn]!.title} ${reply.text}`,
            })
          : await run.call(getTicketTool, { ticketId: `T-${turn}` });
      if (result.status !== 'ok') throw new Error(`[custody-bench] turn ${turn}: ${JSON.stringify(result)}`);
    }
  };
}

/** Records one run of {@link stepAgent} into `stores` and returns its id. */
async function recordRun(stores: Partial<RuntimeStores>, steps: number): Promise<string> {
  const runtime = createRuntime({
    tools: TOOLS,
    policy: supportPolicy(),
    stores,
    model: async () => ({ text: 'ok', usage: { inputTokens: 12, outputTokens: 1 } }),
  });
  const run = await runtime.startRun({
    actor: { kind: 'agent', id: 'support-bot', tenant: 'acme', scopes: ['tickets:*'] },
    agent: AGENT,
    scope: { tenant: 'acme' },
  });
  await stepAgent(steps)(run);
  await run.end({ outcome: 'succeeded' });
  return run.runId;
}

async function timeExports(name: string, store: LedgerStore, runId: string, options: ReplayBundleOptions) {
  collectGarbage();
  return timeEachCall(
    name,
    async () => {
      const bundle = await exportBundle(store, runId, { exportedAt: '2026-11-05T00:00:00.000Z' });
      if (bundle.steps.length !== options.steps) throw new Error(`[custody-bench] ${name} lost steps`);
    },
    { iterations: options.iterations, warmup: options.warmup },
  );
}

/**
 * Replay and bundle export of one `steps`-door-use run: the run is recorded once (memory stores),
 * then replayed `iterations` times in recorded mode against the same agent and tools, each replay
 * checked to match. The same run recorded into a SQLite file (in a temporary folder) is exported
 * as many times.
 */
export async function measureReplayBundle(options: ReplayBundleOptions): Promise<ReplayBundleFigures> {
  const { steps, iterations, warmup } = options;
  if (steps % 5 !== 0) throw new RangeError(`[custody-bench] steps must be a multiple of 5, got ${steps}`);
  const memory = createMemoryStores();
  const runId = await recordRun(memory, steps);
  const bundle: ReplayBundle = await exportBundle(memory.ledger, runId);
  const json = JSON.stringify(bundle);
  const agent = stepAgent(steps);

  collectGarbage();
  const replayTiming = await timeEachCall(
    'replay, recorded mode',
    async () => {
      const result = await replay(bundle, agent, { tools: TOOLS });
      if (result.status !== 'matched')
        throw new Error(`[custody-bench] replay diverged:\n${result.report()}`);
    },
    { iterations, warmup },
  );
  collectGarbage();
  const loadTiming = await timeEachCall(
    'loadBundle (parse + verify)',
    () => {
      if (loadBundle(json).steps.length !== steps) throw new Error('[custody-bench] loadBundle lost steps');
    },
    { iterations, warmup },
  );
  const exportMemory = await timeExports('exportBundle, memory store', memory.ledger, runId, options);

  const folder = mkdtempSync(join(tmpdir(), 'custody-bench-'));
  const sqlite = createSqliteStores({ path: join(folder, 'ledger.db') });
  try {
    const sqliteRunId = await recordRun(sqlite, steps);
    return {
      steps: bundle.steps.length,
      events: bundle.events.length,
      bundleBytes: Buffer.byteLength(json),
      replay: replayTiming,
      loadBundle: loadTiming,
      exportMemory,
      exportSqlite: await timeExports('exportBundle, SQLite file', sqlite.ledger, sqliteRunId, options),
      targetMs: 20,
    };
  } finally {
    await sqlite.close();
    rmSync(folder, { recursive: true, force: true });
  }
}
