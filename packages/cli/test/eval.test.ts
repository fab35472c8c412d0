import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli } from './ledger-fixture.js';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const example = fileURLToPath(new URL('../../../examples/support-triage/', import.meta.url));
const regression = join(example, 'regression');
const setup = join(example, 'src', 'replay-setup.ts');
const golden = join(regression, 'triage-double-charge.bundle.json');

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'custody-cli-eval-'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** A regression folder with the example's golden bundle twice: one case passes, one breaks an assertion. */
function halfFailingSet(name: string): string {
  const folder = join(dir, name);
  spawnSync('mkdir', ['-p', folder]);
  copyFileSync(golden, join(folder, 'a-golden.bundle.json'));
  copyFileSync(join(regression, 'triage-double-charge.expect.json'), join(folder, 'a-golden.expect.json'));
  copyFileSync(golden, join(folder, 'b-no-refunds.bundle.json'));
  writeFileSync(
    join(folder, 'b-no-refunds.expect.json'),
    JSON.stringify({ outcome: 'succeeded', assertions: [{ kind: 'never_called', tool: 'stripe.refund' }] }),
  );
  return folder;
}

function writeBaseline(successRate: number): string {
  const path = join(dir, `baseline-${successRate}.json`);
  writeFileSync(
    path,
    JSON.stringify({
      format: 'custody-eval-report',
      version: 1,
      generatedAt: '2026-11-01T00:00:00.000Z',
      metrics: { successRate },
    }),
  );
  return path;
}

describe('custody eval', () => {
  it("replays the example's regression set with its TypeScript setup and passes", async () => {
    const result = await cli(['eval', regression, '--setup', setup]);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(
      'PASS  triage-double-charge   matched 13/13 steps · outcome succeeded · 4/4 assertions',
    );
    expect(result.stdout).toContain('PASS  triage-duplicate-only  matched 8/8 steps');
    expect(result.stdout).toContain('task success   100.0% (2 of 2)');
    expect(result.stdout).toContain('policy blocks  11.1% (1 of 9 tool calls denied)');
    expect(result.stdout).toContain('escalations    11.1% (1 of 9 tool calls held for approval)');
    expect(result.stdout.trimEnd().endsWith('PASSED')).toBe(true);
  });

  it('prints the JSON report with --json and writes it with --report', async () => {
    const out = join(dir, 'reports', 'eval.json');
    const result = await cli(['eval', regression, '--setup', setup, '--json', '--report', out]);
    expect(result.code).toBe(0);
    const printed = JSON.parse(result.stdout);
    expect(printed).toMatchObject({
      format: 'custody-eval-report',
      passed: true,
      metrics: {
        cases: 2,
        successRate: 1,
        replaySuccessRate: 1,
        toolCalls: 9,
        denied: 1,
        pendingApproval: 1,
      },
    });
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(printed);
  });

  it('exits 1 when any case fails and there is no baseline, printing the failed assertion', async () => {
    const folder = halfFailingSet('no-baseline');
    const result = await cli(['eval', folder, '--setup', setup]);
    expect(result.code).toBe(1);
    expect(result.stdout).toContain('PASS  a-golden');
    expect(result.stdout).toContain('FAIL  b-no-refunds');
    expect(result.stdout).toContain(
      '✗ never_called stripe.refund: stripe.refund went through 1 time: step 10 (ok)',
    );
    expect(result.stdout).toContain('FAILED: 1 of 2 cases failed');
  });

  it('compares with a baseline: exit 1 past --max-drop, 0 within it', async () => {
    const folder = halfFailingSet('with-baseline');
    const strict = await cli(['eval', folder, '--setup', setup, '--baseline', writeBaseline(1)]);
    expect(strict.code).toBe(1);
    expect(strict.stdout).toContain(
      'baseline       100.0% (2026-11-01T00:00:00.000Z), allowed drop 2.0 points: needs ≥ 98.0%',
    );
    expect(strict.stdout).toContain('FAILED: task success 50.0% is below 98.0%');
    const lenient = await cli([
      'eval',
      folder,
      '--setup',
      setup,
      '--baseline',
      writeBaseline(1),
      '--max-drop',
      '50%',
    ]);
    expect(lenient.code).toBe(0);
    const same = await cli(['eval', folder, '--setup', setup, '--baseline', writeBaseline(0.5)]);
    expect(same.code).toBe(0);
    expect(same.stdout).toContain('FAIL  b-no-refunds'); // known failures are still listed
  });

  it('exits 1 with the problem for an invalid expect file or a bad baseline', async () => {
    const folder = join(dir, 'bad-expect');
    spawnSync('mkdir', ['-p', folder]);
    copyFileSync(golden, join(folder, 'x.bundle.json'));
    writeFileSync(
      join(folder, 'x.expect.json'),
      JSON.stringify({ assertions: [{ kind: 'max_calls', tool: 'a' }] }),
    );
    const result = await cli(['eval', folder, '--setup', setup]);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^custody eval: .*x\.expect\.json is invalid at assertions\[0\]\.count: /);
    const notReport = join(dir, 'not-a-report.json');
    writeFileSync(notReport, '{"format":"something-else"}');
    const baseline = await cli(['eval', regression, '--setup', setup, '--baseline', notReport]);
    expect(baseline.code).toBe(1);
    expect(baseline.stderr).toContain('is not an eval report');
  });

  it('exits 2 on usage errors, before replaying anything', async () => {
    const noSetup = join(dir, 'no-setup.mjs');
    writeFileSync(noSetup, 'export const tools = [];\nexport function agent() {}\n');
    const baseline = writeBaseline(1);
    const cases: [string[], string][] = [
      [['eval', regression], '--setup <module> is required'],
      [['eval', '--setup', setup], 'missing <folder>'],
      [['eval', join(dir, 'missing'), '--setup', setup], 'regression folder'],
      [['eval', golden, '--setup', setup], 'is not a folder'],
      [['eval', regression, '--setup', join(dir, 'nope.ts')], '--setup'],
      [
        ['eval', regression, '--setup', noSetup],
        'exports no replay setup: export defineReplaySetup({ tools, agent }) as its default export or as "replaySetup" (it exports agent, tools)',
      ],
      [
        ['eval', regression, '--setup', setup, '--max-drop', '0.1'],
        '--max-drop is the allowed drop below a baseline',
      ],
      [
        ['eval', regression, '--setup', setup, '--baseline', baseline, '--max-drop', 'lots'],
        '--max-drop must be a fraction',
      ],
      [
        ['eval', regression, '--setup', setup, '--baseline', baseline, '--max-drop', '1.5'],
        '--max-drop must be a fraction',
      ],
      [
        ['eval', regression, '--setup', setup, '--baseline', baseline, '--report', baseline],
        '--report would overwrite the --baseline',
      ],
      [
        ['eval', regression, '--setup', setup, '--baseline', join(dir, 'none.json')],
        'does not exist; write one with',
      ],
    ];
    for (const [args, message] of cases) {
      const result = await cli(args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr, args.join(' ')).toContain(message);
    }
    expect(existsSync(join(dir, 'none.json'))).toBe(false);
  });

  it('lists bundle and eval in the help', async () => {
    const help = await cli(['--help']);
    expect(help.stdout).toContain('bundle <store> <runId>');
    expect(help.stdout).toContain('eval <folder> --setup <m>');
    const evalHelp = await cli(['eval', '--help']);
    expect(evalHelp.stdout).toContain('Exit codes: 0 when the set passes');
    expect(evalHelp.stdout).toContain('NODE_OPTIONS="--import tsx" custody eval');
  });
});

describe('custody eval as a process', () => {
  it('imports a TypeScript setup when run under tsx, and sets the exit code', () => {
    const result = spawnSync(
      process.execPath,
      ['--import', 'tsx', '--conditions=@custody/source', 'src/cli.ts', 'eval', regression, '--setup', setup],
      { cwd: packageDir, encoding: 'utf8', env: { ...process.env, NO_COLOR: '1' }, timeout: 60_000 },
    );
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toContain('task success   100.0% (2 of 2)');
  }, 60_000);
});
