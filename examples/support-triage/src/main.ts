import { dirname, join } from 'node:path';
import { renderTimeline } from '@custody/cli';
import { createLedger } from '@custody/core';
import { createSqliteStores } from '@custody/store-sqlite';
import { runSupportTriage } from './app.js';
import { loadOrCreateDemoKey } from './demo-key.js';

const databasePath = process.env.CUSTODY_DB ?? '.custody/ledger.db';
const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const stores = createSqliteStores({ path: databasePath });
const { signer, keyId, publicKeyPem } = loadOrCreateDemoKey(join(dirname(databasePath), 'demo-key'));

try {
  const result = await runSupportTriage({ stores });
  const { run, outcome, verification, approvals, world } = result;

  console.log('\nCustody example: support triage (offline: scripted model, fake Jira, Gmail and Stripe)\n');
  console.log(renderTimeline(result.events, { color }));
  console.log(`\nAgent says: ${outcome.summary}`);
  console.log('\nWhat each tool call came to:');
  for (const { tool, result: call } of outcome.calls) {
    const detail =
      call.status === 'ok'
        ? JSON.stringify(call.output)
        : call.status === 'pending_approval'
          ? `approval ${call.approval.id} needs ${call.approval.approvers.map((a) => `${a.count}× ${a.role}`).join(' + ')}`
          : call.status === 'denied'
            ? `${call.code}: ${call.reason}`
            : `${call.code}: ${call.message}`;
    console.log(`  ${call.status.padEnd(16)} ${tool.padEnd(18)} ${detail}`);
  }
  console.log(`\nPending approvals: ${approvals.length}`);
  for (const approval of approvals) {
    console.log(
      `  ${approval.id} ${approval.tool.name} ${JSON.stringify(approval.input)} digest ${approval.digest.slice(0, 16)}… expires ${approval.expiresAt}`,
    );
  }
  console.log(
    `\nWorld after the run: ${world.issues} issue(s), ${world.drafts} draft(s), ${world.sent} email(s) sent, refunds ${JSON.stringify(world.refunds)}`,
  );
  console.log(`Trace id: ${run.traceId}`);
  console.log(
    verification.ok
      ? `This run's ledger: ${verification.events} events, hash chain intact.`
      : `RUN VERIFICATION FAILED: ${verification.problem.code} at ${verification.problem.index}: ${verification.problem.message}`,
  );

  // Sign a checkpoint over the whole ledger file, then verify every run in it against the key.
  const ledger = createLedger({ store: stores.ledger, signer });
  await ledger.checkpoint();
  const whole = await ledger.verify({ keys: { [keyId]: publicKeyPem } });
  console.log(
    whole.ok
      ? `Whole ledger (${databasePath}): ${whole.events} events in ${whole.streams} streams, ${whole.signedCheckpoints} signed checkpoint(s), all verified.`
      : `LEDGER VERIFICATION FAILED: ${whole.problem.code} (${whole.problem.kind}) at ${whole.problem.index}: ${whole.problem.message}`,
  );
  if (!verification.ok || !whole.ok) process.exitCode = 1;
} finally {
  await stores.close();
}
