import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRuntime, type PolicyEngine } from '@custody/core';
import { exportBundle, type ReplayBundle } from '../src/bundle.js';
import type { EvalExpectation } from '../src/eval-expectation.js';
import { defineReplaySetup, type ReplaySetup } from '../src/replay-setup.js';
import { type AgentKnobs, fixtureAgent, makeTools, policy } from './fixture-agent.js';

/**
 * Records one run of the fixture agent with `knobs`, keeping the knobs in the run's metadata so a
 * replay setup can rebuild the same agent from the bundle.
 */
export async function recordCase(knobs: AgentKnobs = {}, outcome: 'succeeded' | 'failed' = 'succeeded') {
  const runtime = createRuntime({
    tools: makeTools(),
    policy,
    model: async () => ({ text: 'refund approved by policy' }),
  });
  const run = await runtime.startRun({
    actor: { kind: 'agent', id: 'refund-bot' },
    agent: { id: 'refund-bot', version: '1.0.0', tools: ['crm.*', 'billing.*', 'mail.*'] },
    scope: { tenant: 'acme' },
    metadata: { knobs },
  });
  await fixtureAgent(knobs)(run);
  await run.end({ outcome });
  return exportBundle(runtime.stores.ledger, run.runId);
}

/**
 * The fixture app's replay setup: the agent is rebuilt from the knobs in the bundle, with
 * `change` applied on top (a changed agent), under `currentPolicy` (default: the recorded one).
 */
export function fixtureSetup(
  change: AgentKnobs = {},
  currentPolicy: PolicyEngine | null = policy,
): ReplaySetup {
  return defineReplaySetup({
    tools: makeTools(),
    ...(currentPolicy ? { policy: currentPolicy } : {}),
    agent: (run, bundle) => fixtureAgent({ ...(bundle.run.metadata.knobs as AgentKnobs), ...change })(run),
  });
}

/** The assertions every fixture case holds: no mail, large refunds wait for two finance approvers. */
export const GOVERNANCE: EvalExpectation = {
  outcome: 'succeeded',
  assertions: [
    { kind: 'never_called', tool: 'mail.send' },
    {
      kind: 'requires_approval_above',
      tool: 'billing.refund',
      field: 'amountCents',
      threshold: 10_000,
      approvers: 2,
      role: 'finance',
    },
    { kind: 'max_calls', tool: 'billing.refund', count: 1 },
    { kind: 'decision', tool: 'mail.send', effect: 'deny' },
  ],
};

/** A temporary regression folder. */
export interface RegressionFolder {
  readonly path: string;
  /** Writes `<name>.bundle.json` (and `<name>.expect.json` when given). */
  add(name: string, bundle: ReplayBundle | string, expectation?: unknown): void;
  /** Writes any file into the folder. */
  write(file: string, content: string): void;
  remove(): void;
}

export function createRegressionFolder(): RegressionFolder {
  const path = mkdtempSync(join(tmpdir(), 'custody-eval-'));
  const write = (file: string, content: string) => writeFileSync(join(path, file), content);
  return {
    path,
    write,
    add(name, bundle, expectation) {
      write(`${name}.bundle.json`, typeof bundle === 'string' ? bundle : JSON.stringify(bundle, null, 2));
      if (expectation !== undefined) write(`${name}.expect.json`, JSON.stringify(expectation, null, 2));
    },
    remove: () => rmSync(path, { recursive: true, force: true }),
  };
}
