import { describe, expect, it } from 'vitest';
import { readAll, verifyLedger } from './index.js';
import { makeRuntime, startTriageRun } from '../test/helpers.js';

describe('smoke', () => {
  it('runs a gated call end to end', async () => {
    const { runtime, stores } = makeRuntime();
    const run = await startTriageRun(runtime);
    const result = await run.call('jira.create_issue', { project: 'SUP', summary: 'Printer on fire' });
    expect(result.status).toBe('ok');
    await run.end({ outcome: 'succeeded' });
    const events = await readAll(stores.ledger);
    console.log(events.map((e) => e.type));
    expect(verifyLedger(events).ok).toBe(true);
  });
});
