import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, createSqliteLedgerFixture, FIXTURE_RUNS, type SqliteLedgerFixture } from './ledger-fixture.js';

let fixture: SqliteLedgerFixture;
beforeAll(async () => {
  fixture = await createSqliteLedgerFixture();
});
afterAll(() => fixture.remove());

const TRACE = {
  refunded: '00000000000000000000000000000001',
  denied: '00000000000000000000000000000002',
  open: '00000000000000000000000000000003',
};

/** The run ids in a runs table, top to bottom. */
function listedRuns(stdout: string): string[] {
  return [...stdout.matchAll(/^(run_\d+) /gm)].map((match) => match[1]!);
}

describe('custody runs', () => {
  it('lists runs newest first with agent, actor, tenant, outcome, calls, trace and tools', async () => {
    const result = await cli(['runs', fixture.path]);
    expect(result.code).toBe(0);
    const [header, ...rows] = result.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^RUN\s+STARTED\s+AGENT\s+ACTOR\s+TENANT\s+OUTCOME\s+CALLS\s+TRACE\s+TOOLS$/);
    expect(listedRuns(result.stdout)).toEqual([
      FIXTURE_RUNS.open,
      FIXTURE_RUNS.denied,
      FIXTURE_RUNS.refunded,
    ]);
    expect(rows[0]).toMatch(
      new RegExp(
        `^run_0003\\s+2026-11-02T09:02:00.000Z\\s+support-bot@1.2.0\\s+agent:support-bot\\s+globex\\s+open\\s+1\\s+${TRACE.open}\\s+orders.lookup$`,
      ),
    );
    expect(rows[1]).toMatch(/\s+acme\s+failed\s+1\s+0+2\s+payments.refund$/);
    expect(rows[2]).toMatch(/\s+acme\s+succeeded\s+2\s+0+1\s+orders.lookup, payments.refund$/);
  });

  it('filters by tenant, tool, type and start time', async () => {
    expect(listedRuns((await cli(['runs', fixture.path, '--tenant', 'acme'])).stdout)).toEqual([
      FIXTURE_RUNS.denied,
      FIXTURE_RUNS.refunded,
    ]);
    expect(listedRuns((await cli(['runs', fixture.path, '--tool', 'orders.lookup'])).stdout)).toEqual([
      FIXTURE_RUNS.open,
      FIXTURE_RUNS.refunded,
    ]);
    expect(listedRuns((await cli(['runs', fixture.path, '--type', 'run.ended'])).stdout)).toEqual([
      FIXTURE_RUNS.denied,
      FIXTURE_RUNS.refunded,
    ]);
    expect(
      listedRuns(
        (await cli(['runs', fixture.path, '--from', '2026-11-02T09:01:00Z', '--to', '2026-11-02T09:02:00Z']))
          .stdout,
      ),
    ).toEqual([FIXTURE_RUNS.denied]);
    expect(
      listedRuns((await cli(['runs', fixture.path, '--actor', 'agent:support-bot'])).stdout),
    ).toHaveLength(3);
    const none = await cli(['runs', fixture.path, '--tenant', 'initech']);
    expect(none.code).toBe(0);
    expect(none.stdout).toBe('no runs match\n');
  });

  it('shows the newest --limit runs and says how many there are', async () => {
    const result = await cli(['runs', fixture.path, '--limit', '1']);
    expect(listedRuns(result.stdout)).toEqual([FIXTURE_RUNS.open]);
    expect(result.stderr).toContain('showing the newest 1 of 3 runs; pass --limit to see more');
  });

  it('prints JSON with --json', async () => {
    const result = await cli(['runs', fixture.path, '--tenant', 'acme', '--json']);
    expect(JSON.parse(result.stdout)).toEqual([
      {
        runId: FIXTURE_RUNS.denied,
        startedAt: '2026-11-02T09:01:00.000Z',
        agent: 'support-bot@1.2.0',
        actor: 'agent:support-bot',
        tenant: 'acme',
        outcome: 'failed',
        calls: 1,
        traceId: TRACE.denied,
        tools: ['payments.refund'],
      },
      expect.objectContaining({ runId: FIXTURE_RUNS.refunded, outcome: 'succeeded', calls: 2 }),
    ]);
  });

  it('reads a JSONL export too', async () => {
    const exported = join(fixture.dir, 'runs.jsonl');
    const store = fixture.copy('runs-export.db');
    const args = ['--requested-by', 'user:auditor', '--reason', 'review'];
    expect((await cli(['export', store, '-o', exported, ...args])).code).toBe(0);
    expect(listedRuns((await cli(['runs', exported])).stdout)).toEqual([
      FIXTURE_RUNS.open,
      FIXTURE_RUNS.denied,
      FIXTURE_RUNS.refunded,
    ]);
    const shown = await cli(['show', exported, FIXTURE_RUNS.denied]);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toContain(`run ${FIXTURE_RUNS.denied}  trace ${TRACE.denied}`);
  });
});

describe('custody show', () => {
  it("prints the run's timeline with its trace id and tools", async () => {
    const result = await cli(['show', fixture.path, FIXTURE_RUNS.refunded]);
    expect(result.code).toBe(0);
    const lines = result.stdout.trimEnd().split('\n');
    expect(lines[0]).toBe(`run ${FIXTURE_RUNS.refunded}  trace ${TRACE.refunded}  tenant acme`);
    expect(lines).toHaveLength(11);
    expect(result.stdout).toContain('orders.lookup requested with {"orderId":"A-1"}');
    expect(result.stdout).toContain('payments.refund returned {"refundId":"re_A-1"}');
    expect(result.stdout).toContain('run ended: succeeded, 2 tool call(s)');
    expect(result.stdout).not.toContain('\u001b[');
  });

  it('shows the policy decision that denied a call', async () => {
    const result = await cli(['show', fixture.path, FIXTURE_RUNS.denied]);
    expect(result.stdout).toContain('payments.refund → DENY by cli-test-policy@1 [large-refunds]');
  });

  it('colors a terminal unless NO_COLOR is set', async () => {
    const colored = await cli(['show', fixture.path, FIXTURE_RUNS.refunded], { tty: true, env: {} });
    expect(colored.stdout).toContain('\u001b[');
    const plain = await cli(['show', fixture.path, FIXTURE_RUNS.refunded], {
      tty: true,
      env: { NO_COLOR: '1' },
    });
    expect(plain.stdout).not.toContain('\u001b[');
  });

  it('prints the timeline entries as JSON with --json', async () => {
    const result = await cli(['show', fixture.path, FIXTURE_RUNS.denied, '--json']);
    const shown = JSON.parse(result.stdout);
    expect(shown).toMatchObject({ runId: FIXTURE_RUNS.denied, traceId: TRACE.denied, tenant: 'acme' });
    expect(shown.timeline.map((entry: { type: string }) => entry.type)).toEqual([
      'run.started',
      'tool.requested',
      'policy.decided',
      'run.ended',
    ]);
    expect(shown.timeline[2]).toMatchObject({ id: `${FIXTURE_RUNS.denied}:2`, phase: 'decision' });
  });

  it('fails with a pointer to custody runs for an unknown run', async () => {
    const result = await cli(['show', fixture.path, 'run_9999']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('no events of run run_9999');
    expect(result.stderr).toContain(`custody runs ${fixture.path}`);
  });
});
