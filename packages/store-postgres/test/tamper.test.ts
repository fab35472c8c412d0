import { describeTamperMatrix } from '@custody/store-conformance';
import { afterAll } from 'vitest';
import { createPostgresStores } from '../src/index.js';
import { postgresTamper } from './raw-postgres.js';
import { createTestPool, describePostgres, dropSchema, freshSchemaName } from './test-database.js';

describePostgres('PostgreSQL tamper matrix', () => {
  const admin = createTestPool(4);
  afterAll(() => admin.end());

  // Every case gets a fresh schema; the tampering is plain SQL by a superuser with triggers
  // switched off (session_replication_role = replica), as the README warns is possible.
  describeTamperMatrix('@custody/store-postgres', {
    capabilities: ['checkpoints', 'rawReplaceCheckpoints'],
    create: async () => {
      const schema = freshSchemaName();
      const stores = createPostgresStores({ client: admin, schema });
      await stores.migrate();
      return {
        stores: { ledger: stores.ledger },
        schema,
        cleanup: async () => {
          await stores.close();
          await dropSchema(admin, schema);
        },
      };
    },
    tamper: (instance) => postgresTamper(admin, instance.schema),
  });
});
