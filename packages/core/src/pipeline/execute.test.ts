import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { agentActor, simplePolicy, triageAgent } from '../../test/helpers.js';
import { createRuntime, defineTool } from '../index.js';

describe('execute: the tool runs on the frozen input', () => {
  it('passes an abort signal to the tool and reports an aborted call', async () => {
    const waits = defineTool({
      name: 'slow.read',
      version: '1',
      effect: 'read',
      input: z.object({}),
      output: z.object({}),
      execute: (_input, { signal }) =>
        new Promise((_resolve, reject) =>
          signal.addEventListener('abort', () => reject(new Error('aborted by caller'))),
        ),
    });
    const runtime = createRuntime({ tools: [waits], policy: simplePolicy(() => ({ effect: 'allow' })) });
    const run = await runtime.startRun({
      actor: agentActor,
      agent: { ...triageAgent, tools: ['slow.*'] },
      scope: { tenant: 't' },
    });
    const controller = new AbortController();
    const pending = run.call(waits, {}, { signal: controller.signal });
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort();
    expect(await pending).toMatchObject({ status: 'failed', code: 'CUSTODY_ABORTED' });
    const before = new AbortController();
    before.abort();
    expect(await run.call(waits, {}, { signal: before.signal })).toMatchObject({
      code: 'CUSTODY_ABORTED',
      executed: false,
    });
  });
});
