// Records the example's regression set: `pnpm --filter @custody/example-support-triage record-regression`.
// Each case is a bundle; its expect file (written by hand, kept) says what the case must show.
// `pnpm --filter @custody/example-support-triage eval` replays them all against the current agent.
import { mkdirSync, writeFileSync } from 'node:fs';
import { createMemoryStores, createRuntime, type ModelResponse } from '@custody/core';
import { exportBundle, type ReplayBundle } from '@custody/replay';
import { triageAgent } from './agent.js';
import { createSupportTools, runSupportTriage, TICKET } from './app.js';
import { supportPolicy } from './policy.js';
import { createScriptedModel } from './scripted-model.js';

/** A second model behaviour for the same ticket: look the charge up, refund only the duplicate. */
const duplicateOnlyScript: readonly ModelResponse[] = [
  {
    toolCalls: [{ id: 'tc_1', name: 'gmail.read', input: { messageId: 'msg_1001' } }],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [{ id: 'tc_2', name: 'stripe.get_charge', input: { chargeId: 'ch_dup' } }],
    finishReason: 'tool_calls',
  },
  {
    toolCalls: [
      {
        id: 'tc_3',
        name: 'stripe.refund',
        input: { chargeId: 'ch_dup', amountCents: 2_499, reason: 'duplicate' },
      },
    ],
    finishReason: 'tool_calls',
  },
  { text: 'Refunded the $24.99 duplicate charge.', finishReason: 'stop' },
];

/** Runs the app's agent once with `script` as the model, the way app.ts does, and bundles the run. */
async function recordWithScript(script: readonly ModelResponse[]): Promise<ReplayBundle> {
  const stores = createMemoryStores();
  const runtime = createRuntime({
    tools: createSupportTools().tools,
    policy: supportPolicy,
    model: createScriptedModel(script),
    stores,
  });
  const run = await runtime.startRun({
    actor: {
      kind: 'agent',
      id: 'support-triage',
      scopes: ['gmail:read', 'gmail:compose', 'jira:issues:write', 'stripe:read', 'stripe:refunds:write'],
    },
    onBehalfOf: { kind: 'user', id: 'sam@support.example.com', roles: ['support'] },
    agent: { id: 'support-triage', version: '0.3.0', tools: ['gmail.*', 'jira.*', 'stripe.*'] },
    scope: { tenant: 'acme', project: 'SUP', customer: 'cus_dana' },
    metadata: { ticket: { messageId: TICKET.messageId, subject: TICKET.subject }, channel: 'email' },
  });
  await triageAgent(run, TICKET);
  await run.end({ outcome: 'succeeded' });
  return exportBundle(stores.ledger, run.runId);
}

const folder = new URL('../regression/', import.meta.url);
mkdirSync(folder, { recursive: true });
const write = (name: string, bundle: ReplayBundle) => {
  writeFileSync(new URL(`${name}.bundle.json`, folder), `${JSON.stringify(bundle, null, 2)}\n`);
  console.log(`recorded ${name}: ${bundle.steps.length} steps of run ${bundle.run.runId}`);
};

const stores = createMemoryStores();
const { run } = await runSupportTriage({ stores });
write('triage-double-charge', await exportBundle(stores.ledger, run.runId));
write('triage-duplicate-only', await recordWithScript(duplicateOnlyScript));
