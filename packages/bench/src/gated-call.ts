import {
  createMemoryStores,
  createRuntime,
  type MemoryStores,
  type Run,
  type Runtime,
  type StartRunOptions,
} from '@custody/core';
import type { Policy } from '@custody/policy';
import { collectGarbage, medianRound, type Timing, timeEachCall } from './measure.js';
import { supportPolicy } from './support-policy.js';
import {
  createTicket,
  createTicketTool,
  getTicket,
  getTicketTool,
  ticketDrafts,
  ticketQueries,
} from './ticket-tools.js';

/** Options of {@link measureGatedCalls}. */
export interface GatedCallOptions {
  iterations: number;
  warmup: number;
  /** Calls per run: each batch gets a fresh runtime, memory stores and run, started untimed. */
  callsPerRun: number;
  /** Rounds of all four timings; the figures are the median round's (default 1). */
  rounds?: number;
}

/** Direct and gated timings of the write and the read tool, measured in one process. */
export interface GatedCallFigures {
  readonly directWrite: Timing;
  readonly gatedWrite: Timing;
  readonly directRead: Timing;
  readonly gatedRead: Timing;
  /** Ledger events one gated call writes. */
  readonly eventsPerWrite: number;
  readonly eventsPerRead: number;
  /** Each round's median overheads (gated − direct), in µs; the figures above are the median round's. */
  readonly roundOverheadsUs: { readonly write: readonly number[]; readonly read: readonly number[] };
}

/** A fresh runtime with memory stores and the support policy, and a run on it. */
export interface SupportSession {
  readonly runtime: Runtime;
  readonly stores: MemoryStores;
  readonly run: Run;
}

/** The support bot's run, as every scenario starts it. */
export const SUPPORT_RUN: StartRunOptions = {
  actor: { kind: 'agent', id: 'support-bot', tenant: 'acme', scopes: ['tickets:*'] },
  agent: { id: 'support-bot', version: '1.0.0', tools: ['tickets.*'] },
  scope: { tenant: 'acme' },
  metadata: { queue: 'billing' },
};

/** Starts a support-bot run on a fresh runtime with memory stores (the benchmark's setting). */
export async function startSupportSession(policy: Policy): Promise<SupportSession> {
  const stores = createMemoryStores();
  const runtime = createRuntime({ tools: [createTicketTool, getTicketTool], policy, stores });
  const run = await runtime.startRun(SUPPORT_RUN);
  return { runtime, stores, run };
}

/**
 * The gate's cost: the same trivial tool awaited directly and through `run.call`, for a write
 * (validation, policy, idempotency claim and completion, four hash-chained ledger events, a span)
 * and a read (no idempotency key). Uses whatever OpenTelemetry provider is registered globally.
 */
export async function measureGatedCalls(options: GatedCallOptions): Promise<GatedCallFigures> {
  const rounds: RoundFigures[] = [];
  for (let round = 0; round < (options.rounds ?? 1); round++) rounds.push(await measureRound(options));
  const writeOverhead = (r: RoundFigures) => r.gatedWrite.medianUs - r.directWrite.medianUs;
  const readOverhead = (r: RoundFigures) => r.gatedRead.medianUs - r.directRead.medianUs;
  // The write pair and the read pair each from their own median round.
  const write = medianRound(rounds, writeOverhead);
  const read = medianRound(rounds, readOverhead);
  return {
    directWrite: write.directWrite,
    gatedWrite: write.gatedWrite,
    directRead: read.directRead,
    gatedRead: read.gatedRead,
    eventsPerWrite: write.eventsPerWrite,
    eventsPerRead: write.eventsPerRead,
    roundOverheadsUs: { write: rounds.map(writeOverhead), read: rounds.map(readOverhead) },
  };
}

type RoundFigures = Omit<GatedCallFigures, 'roundOverheadsUs'>;

async function measureRound(options: GatedCallOptions): Promise<RoundFigures> {
  const { iterations, warmup, callsPerRun } = options;
  const policy = supportPolicy();
  const drafts = ticketDrafts(warmup + iterations);
  const queries = ticketQueries(warmup + iterations);
  const eventsPerWrite = await countEvents(policy, (run) => run.call(createTicketTool, drafts[0]));
  const eventsPerRead = await countEvents(policy, (run) => run.call(getTicketTool, queries[0]));

  let session: SupportSession | undefined;
  const endSession = async () => {
    await session?.run.end({ outcome: 'succeeded' });
    session = undefined;
  };
  const freshRun = async () => {
    await endSession();
    session = await startSupportSession(policy);
  };
  const batches = { batchSize: callsPerRun, beforeBatch: freshRun };

  collectGarbage();
  // The baselines go through the same kind of async wrapper and result check as the gated calls.
  const directWrite = await timeEachCall(
    'direct await (write)',
    async (i) => {
      const output = await createTicket(drafts[i]!);
      if (!output.ticketId) throw unexpected('createTicket', output);
    },
    { iterations, warmup },
  );
  collectGarbage();
  const gatedWrite = await timeEachCall(
    'run.call (write)',
    async (i) => {
      const result = await session!.run.call(createTicketTool, drafts[i]);
      if (result.status !== 'ok' || result.idempotencyHit) throw unexpected('tickets.create', result);
    },
    { iterations, warmup, ...batches },
  );
  await endSession();
  collectGarbage();
  const directRead = await timeEachCall(
    'direct await (read)',
    async (i) => {
      const output = await getTicket(queries[i]!);
      if (!output.ticketId) throw unexpected('getTicket', output);
    },
    { iterations, warmup },
  );
  collectGarbage();
  const gatedRead = await timeEachCall(
    'run.call (read)',
    async (i) => {
      const result = await session!.run.call(getTicketTool, queries[i]);
      if (result.status !== 'ok') throw unexpected('tickets.get', result);
    },
    { iterations, warmup, ...batches },
  );
  await endSession();
  return { directWrite, gatedWrite, directRead, gatedRead, eventsPerWrite, eventsPerRead };
}

async function countEvents(policy: Policy, call: (run: Run) => Promise<unknown>): Promise<number> {
  const { stores, run } = await startSupportSession(policy);
  const before = stores.ledger.size;
  await call(run);
  return stores.ledger.size - before;
}

function unexpected(what: string, result: unknown): Error {
  return new Error(
    `[custody-bench] ${what} should have run and returned a ticket, got ${JSON.stringify(result)}`,
  );
}
