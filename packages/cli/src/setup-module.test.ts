import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CustodyError } from '@custody/core';
import { afterAll, describe, expect, it } from 'vitest';
import { loadReplaySetup, TYPESCRIPT_SETUP_HINT } from './setup-module.js';
import { UsageError } from './usage-error.js';

const exampleSetup = fileURLToPath(
  new URL('../../../examples/support-triage/src/replay-setup.ts', import.meta.url),
);
const dir = mkdtempSync(join(tmpdir(), 'custody-setup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const setup = { tools: [], agent: () => undefined };
const failing = (error: unknown) => () => Promise.reject(error);

/** What plain node (no tsx) throws when importing the example's TypeScript setup. */
function plainNodeImportError(): { code: string; message: string } {
  const script = `import(${JSON.stringify(pathToFileURL(exampleSetup).href)}).then(
    () => process.stdout.write('{"code":"IMPORTED"}'),
    (e) => process.stdout.write(JSON.stringify({ code: e.code, message: e.message })),
  );`;
  const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
  return JSON.parse(child.stdout);
}

describe('loadReplaySetup', () => {
  it('takes the default export, or "replaySetup", or either through a CommonJS default', async () => {
    const path = join(dir, 'setup.mjs');
    writeFileSync(path, '');
    for (const exports of [{ default: setup }, { replaySetup: setup }, { default: { replaySetup: setup } }]) {
      expect(await loadReplaySetup(path, { importModule: async () => exports })).toBe(setup);
    }
  });

  it("loads the example's TypeScript setup in a process that can import TypeScript", async () => {
    const loaded = await loadReplaySetup(exampleSetup);
    expect(loaded.tools.map((tool) => tool.name)).toContain('stripe.refund');
  });

  it('says to run under tsx when plain node cannot import a TypeScript setup', async () => {
    const error = plainNodeImportError();
    expect(error.code).not.toBe('IMPORTED');
    const importModule = failing(Object.assign(new Error(error.message), { code: error.code }));
    const attempt = loadReplaySetup(exampleSetup, { importModule, typescriptLoader: false });
    await expect(attempt).rejects.toBeInstanceOf(UsageError);
    await expect(attempt).rejects.toThrow(TYPESCRIPT_SETUP_HINT);
    await expect(attempt).rejects.toThrow(/replay-setup\.ts is TypeScript and node cannot import it/);
  });

  it('reports any other import failure as a failure of the module, with its stack', async () => {
    const broken = Object.assign(new Error("Cannot find module './agent.js'"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    // Under tsx, a missing module is the module's own problem, not a missing loader.
    const underTsx = loadReplaySetup(exampleSetup, { importModule: failing(broken), typescriptLoader: true });
    await expect(underTsx).rejects.toSatisfy((error) => CustodyError.isInstance(error));
    await expect(underTsx).rejects.toThrow(
      /--setup .*replay-setup\.ts failed to load: Error: Cannot find module/,
    );
    const js = join(dir, 'throws.mjs');
    writeFileSync(js, "throw new Error('no API key');\n");
    await expect(loadReplaySetup(js)).rejects.toThrow(/throws\.mjs failed to load: Error: no API key/);
  });

  it('refuses a missing file or a module without a setup', async () => {
    await expect(loadReplaySetup(join(dir, 'missing.ts'))).rejects.toThrow(
      /missing\.ts does not exist \(looked at /,
    );
    const path = join(dir, 'empty.mjs');
    writeFileSync(path, '');
    await expect(
      loadReplaySetup(path, { importModule: async () => ({ default: { agent: 'nope' } }) }),
    ).rejects.toThrow(
      'exports no replay setup: export defineReplaySetup({ tools, agent }) as its default export or as "replaySetup" (it exports default)',
    );
  });
});
