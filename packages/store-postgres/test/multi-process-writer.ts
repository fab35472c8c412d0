// A child process of multi-process.test.ts: one app instance appending to shared streams.
//
//   node --import tsx --conditions=@custody/source multi-process-writer.ts <url> <schema> <writer> <appends>
//
// Connects, prints `ready`, waits for `go` on stdin (so every process starts at once), then runs
// two concurrent loops of <appends> appends each, mostly to three streams every process shares.
// Each append re-reads the stream's head and retries on CUSTODY_LEDGER_CONFLICT. It prints
// `ack <id>=<hash> ...` once an append resolved, and `done <conflicts>` at the end.
import { createInterface } from 'node:readline';
import { type ChainHead, CustodyError, type LedgerEvent } from '@custody/core';
import { sealEvent } from '@custody/core/ledger';
import { createPostgresStores } from '../src/index.js';

const HOT_STREAMS = ['mp-hot-a', 'mp-hot-b', 'mp-hot-c'];

async function main(): Promise<void> {
  const [url, schema, writerText, appendsText] = process.argv.slice(2);
  if (!url || !schema || !writerText || !appendsText) {
    throw new Error('usage: multi-process-writer.ts <url> <schema> <writer> <appends>');
  }
  const writer = Number(writerText);
  const appends = Number(appendsText);
  let state = (writer + 1) * 0x9e3779b1;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const stores = createPostgresStores({ connectionString: url, schema, poolOptions: { max: 3 } });
  await stores.ledger.head(HOT_STREAMS[0]!); // connected before the start
  say('ready');
  await new Promise<void>((resolve) => {
    const lines = createInterface({ input: process.stdin });
    lines.on('line', (line) => {
      if (line !== 'go') return;
      // Nothing else comes on stdin: stop listening, so it keeps nothing alive.
      lines.close();
      process.stdin.destroy();
      resolve();
    });
  });

  let conflicts = 0;
  const lane = async (laneId: number) => {
    for (let n = 0; n < appends; n++) {
      const stream =
        random() < 0.8
          ? HOT_STREAMS[Math.floor(random() * HOT_STREAMS.length)]!
          : `mp-own-${writer}-${laneId}`;
      const size = random() < 0.3 ? 3 : 1;
      for (;;) {
        let prev: ChainHead | undefined = await stores.ledger.head(stream);
        const batch: LedgerEvent[] = [];
        for (let k = 0; k < size; k++) {
          const event = sealEvent(
            {
              stream,
              runId: stream,
              traceId: null,
              spanId: null,
              ts: new Date().toISOString(),
              type: 'tool.result',
              tenant: 'multi-process',
              actor: `agent:writer-${writer}`,
              payload: { writer, lane: laneId, n, k, status: 'ok' },
            },
            prev,
          );
          batch.push(event);
          prev = { seq: event.seq, hash: event.hash };
        }
        try {
          await stores.ledger.append(batch);
          say(`ack ${batch.map((event) => `${event.id}=${event.hash}`).join(' ')}`);
          break;
        } catch (error) {
          if (!(CustodyError.isInstance(error) && error.code === 'CUSTODY_LEDGER_CONFLICT')) throw error;
          conflicts++;
        }
      }
    }
  };
  await Promise.all([lane(0), lane(1)]);
  say(`done ${conflicts}`);
  await stores.close();
}

main().catch((error: unknown) => {
  process.stderr.write(
    `multi-process-writer failed: ${error instanceof Error ? error.stack : String(error)}\n`,
  );
  process.exit(1);
});
