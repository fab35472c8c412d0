import { createMemoryStores } from '@custody/core';
import { describeStoreConformance, describeTamperMatrix } from '../src/index.js';
import { TamperableMemoryLedger } from './tamperable-memory-ledger.js';

// Core's in-memory stores define the semantics every adapter must match: they pass the whole
// suite except durability, which they cannot offer.
describeStoreConformance('memory', {
  capabilities: [
    'ledger',
    'approvals',
    'idempotency',
    'unitOfWork',
    'erasePayload',
    'heads',
    'checkpoints',
    'deleteStreams',
    'appendSync',
  ],
  create: async () => ({ stores: createMemoryStores() }),
});

// A ledger-only adapter runs only the ledger checks.
describeStoreConformance('memory ledger only', {
  capabilities: ['ledger', 'erasePayload', 'heads', 'checkpoints', 'deleteStreams', 'appendSync'],
  create: async () => ({ stores: { ledger: createMemoryStores().ledger } }),
});

// The tamper matrix against core's memory ledger, through a test-only subclass with raw access.
// rawDeleteStream and rawSwapPayloads are left out on purpose: the matrix's defaults fill them in.
describeTamperMatrix('memory', {
  capabilities: ['checkpoints', 'rawReplaceCheckpoints'],
  create: async () => {
    const ledger = new TamperableMemoryLedger();
    return { stores: { ledger }, ledger };
  },
  tamper: (instance) => instance.ledger.tamper,
});
