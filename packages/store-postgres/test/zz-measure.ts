import { createPostgresStores } from '../src/index.js';
import { recordPrune, runEvents } from './operator-records.js';
import { createTestPool, dropSchema, freshSchemaName } from './test-database.js';

const pool = createTestPool(1);
const schema = freshSchemaName();
const stores = createPostgresStores({ client: pool, schema });
await stores.migrate();
for (const n of [1, 100, 100, 100, 2000, 2000]) {
  const runs = Array.from({ length: n }, (_, i) => runEvents(`p${n}-${i}-${Math.random()}`, 3));
  for (let i = 0; i < runs.length; i += 200) await stores.ledger.append(runs.slice(i, i + 200).flat());
  await recordPrune(stores.ledger, 'acme', runs);
  const t = process.hrtime.bigint();
  await stores.ledger.deleteStreams(runs.map((run) => run[0]!.stream));
  console.log(`deleteStreams of ${n} streams: ${(Number(process.hrtime.bigint() - t) / 1e6).toFixed(1)} ms`);
}
await stores.close();
await dropSchema(pool, schema);
await pool.end();
