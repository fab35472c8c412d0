export type { SqliteApprovalStore } from './sqlite-approval-store.js';
export type { SqliteDatabase, SqliteDriver, SqliteRunResult, SqliteStatement } from './sqlite-driver.js';
export type { SqliteIdempotencyStore } from './sqlite-idempotency-store.js';
export type { SqliteLedgerStore } from './sqlite-ledger-store.js';
export type { SqliteStoreOptions } from './sqlite-options.js';
export { DEFAULT_SQLITE_PATH } from './sqlite-options.js';
export { SQLITE_SCHEMA_VERSION } from './sqlite-schema.js';
export type { SqliteStores } from './sqlite-stores.js';
export {
  createSqliteApprovalStore,
  createSqliteIdempotencyStore,
  createSqliteLedgerStore,
  createSqliteStores,
} from './sqlite-stores.js';
export type { SqliteUnitOfWorkStore } from './sqlite-unit-of-work.js';
