import { describeStoreConformance } from '@custody/store-conformance';
import { afterAll } from 'vitest';
import { createPostgresStores, type PostgresStores } from '../src/index.js';
import {
  createTestPool,
  describePostgres,
  dropSchema,
  freshSchemaName,
  POSTGRES_URL,
} from './test-database.js';

describePostgres('PostgreSQL stores', () => {
  const admin = createTestPool(2);
  afterAll(() => admin.end());

  // Every instance is a fresh schema, reached through its own pool from a connection string;
  // reopen() ends that pool and starts a new one over the same schema, as a restart would.
  describeStoreConformance('@custody/store-postgres', {
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
      const schema = freshSchemaName();
      const open = () =>
        createPostgresStores({ connectionString: POSTGRES_URL, poolOptions: { max: 4 }, schema });
      let stores: PostgresStores = open();
      await stores.migrate();
      return {
        stores,
        reopen: async () => {
          await stores.close();
          stores = open();
          return stores;
        },
        cleanup: async () => {
          await stores.close();
          await dropSchema(admin, schema);
        },
      };
    },
  });
});
