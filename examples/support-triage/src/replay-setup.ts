import { defineReplaySetup } from '@custody/replay';
import type { Ticket } from './agent.js';
import { triageAgent } from './agent.js';
import { createSupportTools } from './app.js';
import { supportPolicy } from './policy.js';

/**
 * How the support-triage agent is replayed: its current tools and policy, and the agent itself,
 * reading its ticket from the recorded run's metadata. Used by the golden tests and by
 * `custody eval`.
 */
export const replaySetup = defineReplaySetup({
  tools: createSupportTools().tools,
  policy: supportPolicy,
  agent: (run, bundle) => triageAgent(run, bundle.run.metadata.ticket as Ticket),
});

export default replaySetup;
