import { fileURLToPath } from 'node:url';
import { describeReplays } from '@custody/replay/vitest';
import { replaySetup } from './replay-setup.js';

// Committed recordings of the example's runs. A change to the agent's logic, its prompt template,
// a tool's contract or the policy's recorded outcomes that alters behaviour fails here.
describeReplays(fileURLToPath(new URL('../fixtures', import.meta.url)), replaySetup);
