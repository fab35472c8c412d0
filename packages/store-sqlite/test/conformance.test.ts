import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeStoreConformance } from '@custody/store-conformance';
import { createSqliteLedgerStore, createSqliteStores, type SqliteStores } from '../src/index.js';

describeStoreConformance('sqlite', {
  capabilities: [
    'ledger',
    'approvals',
    'idempotency',
    'unitOfWork',
    'reopen',
    'erasePayload',
    'heads',
    'checkpoints',
    'deleteStreams',
  ],
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-sqlite-'));
    const path = join(dir, 'ledger.db');
    let stores: SqliteStores = createSqliteStores({ path });
    return {
      stores,
      reopen: async () => {
        await stores.close();
        stores = createSqliteStores({ path });
        return stores;
      },
      cleanup: async () => {
        await stores.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});

// The single-store factories open their own connections; a ledger alone must pass the ledger part.
describeStoreConformance('sqlite ledger on its own connection', {
  capabilities: ['ledger', 'reopen', 'erasePayload', 'heads', 'checkpoints', 'deleteStreams'],
  create: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'custody-sqlite-'));
    const path = join(dir, 'ledger.db');
    let ledger = createSqliteLedgerStore({ path });
    return {
      stores: { ledger },
      reopen: async () => {
        await ledger.close();
        ledger = createSqliteLedgerStore({ path });
        return { ledger };
      },
      cleanup: async () => {
        await ledger.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
});
