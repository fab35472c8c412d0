// A child process of crash.test.ts: appends batches to a SQLite ledger until it is killed.
//
//   node --import tsx --conditions=@custody/source crash-writer.ts <path> <seed>
//
// Prints `loaded` once its modules are loaded, then waits for a `go` line on stdin (so the parent
// can load the next writer while this one runs). On `go` it opens the file, reads each stream's
// head from it, prints `ready`, and appends for ever. Before each append it prints
// `try <id>=<hash> ...` and after the append resolved `ack <id>=<hash> ...`; every few rounds it
// stores a checkpoint. stdout writes to a pipe are synchronous on Linux, so a line printed is a
// line the parent gets, even if SIGKILL follows at once.
import { type ChainHead, createLedger, type LedgerEvent } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import { createSqliteLedgerStore } from '../src/index.js';
import { loadedThenWaitForGo, say } from './writer-protocol.js';

const CRASH_STREAMS = ['crash-a', 'crash-b', 'crash-c', 'crash-d'];

async function main(): Promise<void> {
  const [path, seedText] = process.argv.slice(2);
  if (!path || !seedText) throw new Error('usage: crash-writer.ts <path> <seed>');
  let state = Number(seedText) >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };

  await loadedThenWaitForGo();

  const store = createSqliteLedgerStore({ path });
  const ledger = createLedger({ store });
  const heads = new Map<string, ChainHead | undefined>();
  for (const stream of CRASH_STREAMS) heads.set(stream, await store.head(stream));
  say('ready');

  for (let round = 0; ; round++) {
    let picks = CRASH_STREAMS.filter(() => random() < 0.6);
    if (picks.length === 0) picks = [CRASH_STREAMS[round % CRASH_STREAMS.length]!];
    // Appends made in one tick share one transaction (group commit), each in its own savepoint.
    await Promise.all(
      picks.map(async (stream) => {
        const batch: LedgerEvent[] = [];
        let prev = heads.get(stream);
        const size = 1 + Math.floor(random() * 8);
        for (let k = 0; k < size; k++) {
          const event = sealEvent(
            {
              stream,
              runId: stream,
              traceId: null,
              spanId: null,
              ts: new Date().toISOString(),
              type: 'tool.result',
              tenant: 'crash',
              actor: 'agent:crash-writer',
              payload: { seed: seedText, round, k, blob: 'x€'.repeat(Math.floor(random() ** 4 * 6_000)) },
            },
            prev,
          );
          batch.push(event);
          prev = { seq: event.seq, hash: event.hash };
        }
        heads.set(stream, prev);
        const ids = batch.map((event) => `${event.id}=${event.hash}`).join(' ');
        say(`try ${ids}`);
        await store.append(batch);
        say(`ack ${ids}`);
      }),
    );
    if (round % 4 === 3) {
      await ledger.checkpoint();
      say('checkpoint');
    }
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-writer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
