import { renderTimeline } from '@custody/core';
import { runSupportTriage } from './app.js';

const color = process.stdout.isTTY === true && !process.env.NO_COLOR;
const result = await runSupportTriage();
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
        : call.status === 'denied' || call.status === 'failed'
          ? `${call.code}: ${call.status === 'denied' ? call.reason : call.message}`
          : call.message;
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
    ? `Ledger verified: ${verification.events} events in ${verification.streams} stream(s), hash chain intact.`
    : `LEDGER VERIFICATION FAILED: ${verification.problem.code} at ${verification.problem.index}: ${verification.problem.message}`,
);
if (!verification.ok) process.exitCode = 1;
