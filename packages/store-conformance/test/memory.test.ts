import { createMemoryStores } from '@custody/core';
import { describeStoreConformance, describeTamperMatrix } from '../src/index.js';
import { TamperableMemoryLedger } from './tamperable-memory-ledger.js';

// Core's in-memory stores define the semantics every adapter must match: they pass the whole
// suite except durability, which they cannot offer.
describeStoreConformance('memory', {
  create: async () => ({ stores: createMemoryStores() }),
});

// A ledger-only adapter runs only the ledger checks; the rest are reported as skipped.
describeStoreConformance('memory ledger only', {
  create: async () => ({ stores: { ledger: createMemoryStores().ledger } }),
});

// The tamper matrix against core's memory ledger, through a test-only subclass with raw access.
// rawDeleteStream and rawSwapPayloads are left out on purpose: the matrix's defaults fill them in.
describeTamperMatrix('memory', {
  create: async () => {
    const ledger = new TamperableMemoryLedger();
    return { stores: { ledger }, ledger };
  },
  tamper: (instance) => instance.ledger.tamper,
});
