export type {
  StoreConformanceInstance,
  StoreConformanceOptions,
  StoreConformanceStores,
} from './conformance-options.js';
export { describeStoreConformance } from './describe-store-conformance.js';
