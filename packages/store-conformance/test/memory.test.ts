import { createMemoryStores } from '@custody/core';
import { describeStoreConformance } from '../src/index.js';

// Core's in-memory stores define the semantics every adapter must match: they pass the whole
// suite except durability, which they cannot offer.
describeStoreConformance('memory', {
  create: async () => ({ stores: createMemoryStores() }),
});

// A ledger-only adapter runs only the ledger checks; the rest are reported as skipped.
describeStoreConformance('memory ledger only', {
  create: async () => ({ stores: { ledger: createMemoryStores().ledger } }),
});
