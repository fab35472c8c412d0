// A child process of crash-units.test.ts: commits units of work (ledger events with an
// idempotency claim, then events with its completion) until it is killed.
//
//   node --import tsx --conditions=@custody/source crash-unit-writer.ts <path> <seed>
//
// Same protocol as crash-writer.ts: `loaded`, wait for `go`, `ready`, then for each unit a
// `try <json>` line before the commit and an `ack <json>` line once it resolved, where the JSON
// names the unit's events (`id=hash`), its key and whether it claims or completes it.
import type { ChainHead, LedgerEvent } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import { createSqliteStores } from '../src/index.js';
import { loadedThenWaitForGo, say } from './writer-protocol.js';

const STREAMS = ['unit-a', 'unit-b', 'unit-c', 'unit-d', 'unit-e', 'unit-f'];

async function main(): Promise<void> {
  const [path, seed] = process.argv.slice(2);
  if (!path || !seed) throw new Error('usage: crash-unit-writer.ts <path> <seed>');

  await loadedThenWaitForGo();

  const stores = createSqliteStores({ path });
  const heads = new Map<string, ChainHead | undefined>();
  for (const stream of STREAMS) heads.set(stream, await stores.ledger.head(stream));
  say('ready');

  const seal = (stream: string, type: LedgerEvent['type'], payload: unknown): LedgerEvent => {
    const event = sealEvent(
      {
        stream,
        runId: stream,
        traceId: null,
        spanId: null,
        ts: new Date().toISOString(),
        type,
        tenant: 'crash',
        actor: 'agent:crash-unit-writer',
        payload,
      },
      heads.get(stream),
    );
    heads.set(stream, { seq: event.seq, hash: event.hash });
    return event;
  };

  // Every stream runs its own sequence of calls, all streams at once: units of one turn share a
  // transaction, each in its own savepoint.
  await Promise.all(
    STREAMS.map(async (stream) => {
      for (let n = 0; ; n++) {
        const key = `${seed}-${stream}-${n}`;
        const fingerprint = `fp-${key}`;
        const callId = `call-${key}`;
        const now = Date.now();
        const before = [seal(stream, 'tool.requested', { key }), seal(stream, 'policy.decided', { key })];
        const claimLine = JSON.stringify({ events: ids(before), key, kind: 'claim' });
        say(`try ${claimLine}`);
        const { claim } = await stores.unitOfWork.commit({
          events: before,
          claim: { tenant: 'crash', key, fingerprint, callId, leaseMs: 60_000, now },
        });
        if (claim?.status !== 'claimed') throw new Error(`key ${key} answered ${claim?.status}`);
        say(`ack ${claimLine}`);

        const after = [seal(stream, 'tool.result', { key, blob: 'x€'.repeat((n * 97) % 3000) })];
        const completeLine = JSON.stringify({ events: ids(after), key, kind: 'complete' });
        say(`try ${completeLine}`);
        await stores.unitOfWork.commit({
          events: after,
          complete: {
            tenant: 'crash',
            key,
            fingerprint,
            callId,
            outcome: { ok: true, n },
            completedAt: Date.now(),
            ttlMs: 60_000,
          },
        });
        say(`ack ${completeLine}`);
      }
    }),
  );
}

function ids(events: readonly LedgerEvent[]): string[] {
  return events.map((event) => `${event.id}=${event.hash}`);
}

main().catch((error: unknown) => {
  process.stderr.write(`crash-unit-writer failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
