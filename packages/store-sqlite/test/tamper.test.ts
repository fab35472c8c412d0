import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeTamperMatrix } from '@custody/store-conformance';
import { createSqliteLedgerStore } from '../src/index.js';
import { sqliteTamper } from './raw-sqlite.js';

// Every case gets a fresh file; the tampering goes through a second connection with plain SQL,
// dropping the append-only triggers for the change and putting them back (see raw-sqlite.ts).
describeTamperMatrix('sqlite', {
  capabilities: ['checkpoints', 'rawReplaceCheckpoints'],
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-sqlite-tamper-'));
    const path = join(dir, 'ledger.db');
    const ledger = createSqliteLedgerStore({ path });
    return {
      stores: { ledger },
      path,
      cleanup: async () => {
        await ledger.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  tamper: (instance) => sqliteTamper(instance.path),
});
