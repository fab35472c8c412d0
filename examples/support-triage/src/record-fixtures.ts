// Records the example's golden bundles: `pnpm --filter @custody/example-support-triage record-fixtures`.
// Re-record only when a behaviour change is intended; the golden test fails on any other change.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createMemoryStores } from '@custody/core';
import { exportBundle } from '@custody/replay';
import { runSupportTriage } from './app.js';

const folder = new URL('../fixtures/', import.meta.url);
mkdirSync(folder, { recursive: true });
const stores = createMemoryStores();
const { run } = await runSupportTriage({ stores });
const bundle = await exportBundle(stores.ledger, run.runId);
writeFileSync(new URL('triage-double-charge.bundle.json', folder), `${JSON.stringify(bundle, null, 2)}\n`);
console.log(`recorded ${bundle.steps.length} steps of run ${run.runId}`);
