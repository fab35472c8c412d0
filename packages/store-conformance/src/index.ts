export type {
  StoreCapability,
  StoreConformanceInstance,
  StoreConformanceOptions,
  StoreConformanceStores,
} from './conformance-options.js';
export { describeStoreConformance } from './describe-store-conformance.js';
export {
  forgedPruneRecord,
  forgedRedactionRecord,
  holdEvent,
  nextEvent,
  operatorKey,
  prunedEntry,
  recordHold,
  recordPrune,
  recordRedaction,
  runEvents,
  signedAgain,
} from './operator-record-fixtures.js';
export type { LedgerEventPatch, LedgerTamper, TamperMatrixOptions } from './tamper-matrix.js';
export { describeTamperMatrix } from './tamper-matrix.js';
