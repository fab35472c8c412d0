// Child-process entry of the fsync count, run under strace: lone raw commits, gated writes and
// gated reads on SQLite, each phase between two markers; prints {"done":true} when it finished.
import { accessSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime } from '@custody/core';
import { createSqliteStores } from '@custody/store-sqlite';
import { FSYNC_MARKER_ROOT, type FsyncCountOptions, type FsyncPhase } from './fsync-count.js';
import { SUPPORT_RUN } from './gated-call.js';
import { openRawSqliteCommits } from './raw-commit.js';
import { supportPolicy } from './support-policy.js';
import { createTicketTool, getTicketTool, ticketDraft } from './ticket-tools.js';

const { calls, warmup, folder } = JSON.parse(process.argv[2] ?? '{}') as FsyncCountOptions & {
  folder: string;
};

/** One failed `access` of a path that never exists: a line in the strace log and nothing else. */
function mark(phase: FsyncPhase, edge: 'begin' | 'end'): void {
  try {
    accessSync(`${FSYNC_MARKER_ROOT}/${phase}:${edge}`);
  } catch {
    // Expected: the marker is the attempt.
  }
}

async function phase(name: FsyncPhase, call: (index: number) => unknown): Promise<void> {
  for (let index = 0; index < warmup; index++) await call(index);
  mark(name, 'begin');
  for (let index = warmup; index < warmup + calls; index++) await call(index);
  mark(name, 'end');
}

const raw = openRawSqliteCommits(join(folder, 'raw-commit.db'));
const stores = createSqliteStores({ path: join(folder, 'custody.db') });
const runtime = createRuntime({ tools: [createTicketTool, getTicketTool], policy: supportPolicy(), stores });
const run = await runtime.startRun(SUPPORT_RUN);

await phase('raw', (index) => raw.commit(index));
await phase('write', async (index) => {
  const result = await run.call(createTicketTool, ticketDraft(index));
  if (result.status !== 'ok' || result.idempotencyHit)
    throw new Error(`[custody-bench] write: ${JSON.stringify(result)}`);
});
await phase('read', async (index) => {
  const result = await run.call(getTicketTool, { ticketId: `T-${index}` });
  if (result.status !== 'ok') throw new Error(`[custody-bench] read: ${JSON.stringify(result)}`);
});

await run.end({ outcome: 'succeeded' });
await raw.close();
await stores.close();
process.stdout.write(`${JSON.stringify({ done: true, calls })}\n`);
