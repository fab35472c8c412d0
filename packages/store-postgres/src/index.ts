export type { PostgresConnection, PostgresPool, PostgresQueryResult } from './database.js';
export type { PostgresMigrateOptions, PostgresMigration } from './migrations.js';
export { postgresMigrations } from './migrations.js';
export type { PostgresIdempotencyStore } from './postgres-idempotency-store.js';
export type { PostgresLedgerStore } from './postgres-ledger-store.js';
export type { PgModule, PostgresStores, PostgresStoresOptions } from './postgres-stores.js';
export { createPostgresStores } from './postgres-stores.js';
export type { PostgresUnitOfWorkStore } from './postgres-unit-of-work.js';
