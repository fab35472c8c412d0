import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createRuntime, defineTool, type Run } from '@custody/core';
import { definePolicy, forbid, permit } from '@custody/policy';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  createRegressionFolder,
  fixtureSetup,
  GOVERNANCE,
  type RegressionFolder,
  recordCase,
} from '../test/eval-fixtures.js';
import { policy } from '../test/fixture-agent.js';
import { exportBundle, type ReplayBundle } from './bundle.js';
import { readEvalReport, renderEvalReport, writeEvalReport } from './eval-report.js';
import { runEval, runEvalCase } from './eval-run.js';
import { defineReplaySetup } from './replay-setup.js';

let standard: ReplayBundle;
let single: ReplayBundle;
beforeAll(async () => {
  standard = await recordCase();
  single = await recordCase({ amounts: [2_500] });
});

let folder: RegressionFolder;
afterEach(() => folder?.remove());

const fixedClock = { now: () => Date.parse('2026-11-05T10:00:00.000Z') };

describe('runEval', () => {
  it('replays every bundle of a folder, checks its expect file, and reports the rates', async () => {
    folder = createRegressionFolder();
    folder.add('a-standard', standard, GOVERNANCE);
    folder.add('b-single-refund', single); // no expect file: must only replay
    folder.write('notes.txt', 'ignored');
    const seen: string[] = [];
    const report = await runEval(folder.path, fixtureSetup(), {
      clock: fixedClock,
      onCase: (result) => seen.push(result.name),
    });
    expect(seen).toEqual(['a-standard', 'b-single-refund']);
    expect(report).toMatchObject({
      format: 'custody-eval-report',
      version: 1,
      generatedAt: '2026-11-05T10:00:00.000Z',
      folder: folder.path,
      baseline: null,
      passed: true,
    });
    // 4 calls + 3 calls (lookup, refund, mail): 2 denied mails, 1 large refund held.
    expect(report.metrics).toEqual({
      cases: 2,
      succeeded: 2,
      successRate: 1,
      replayMatched: 2,
      replaySuccessRate: 1,
      toolCalls: 7,
      denied: 2,
      pendingApproval: 1,
      policyBlockRate: 2 / 7,
      escalationRate: 1 / 7,
      assertions: { total: 4, failed: 0 },
    });
    const [first, second] = report.cases;
    expect(first).toMatchObject({
      name: 'a-standard',
      file: 'a-standard.bundle.json',
      expectFile: 'a-standard.expect.json',
      runId: standard.run.runId,
      success: true,
      replay: { status: 'matched', steps: { recorded: 8, replayed: 8 } },
      outcome: { expected: 'succeeded', recorded: 'succeeded', ok: true },
      policyChanges: [],
      calls: { total: 4, denied: 1, pendingApproval: 1 },
      failures: [],
    });
    expect(first!.assertions.map((a) => [a.assertion.kind, a.passed, a.message])).toEqual([
      ['never_called', true, 'mail.send never went through (requested 1 time: step 7 (denied))'],
      [
        'requires_approval_above',
        true,
        '1 call of billing.refund with amountCents above 10000: each held for 2 finance approvers or refused',
      ],
      ['max_calls', true, 'billing.refund went through 1 time (at most 1)'],
      ['decision', true, 'every mail.send call was decided deny (1)'],
    ]);
    expect(second).toMatchObject({ expectFile: null, success: true, outcome: { expected: null, ok: true } });
    expect(renderEvalReport(report)).toContain('PASS  a-standard       matched 8/8 steps');
  });

  it('fails a case whose assertion breaks, and says which call broke it', async () => {
    folder = createRegressionFolder();
    const twoRefunds = await recordCase({ amounts: [2_500, 4_000] });
    folder.add('two-small-refunds', twoRefunds, GOVERNANCE);
    const report = await runEval(folder.path, fixtureSetup());
    const [result] = report.cases;
    expect(result!.replay?.status).toBe('matched');
    expect(result!.success).toBe(false);
    expect(result!.failures).toEqual([
      'max_calls billing.refund: billing.refund went through 2 times, at most 1 allowed: step 5 (ok), step 6 (ok)',
    ]);
    expect(result!.assertions.find((a) => !a.passed)?.steps).toEqual([5, 6]);
    expect(report).toMatchObject({ passed: false, metrics: { successRate: 0, replaySuccessRate: 1 } });
    expect(renderEvalReport(report)).toContain('FAILED: 1 of 1 cases failed');
  });

  it('fails a case whose recorded outcome is not the expected one', async () => {
    folder = createRegressionFolder();
    folder.add('failed-run', await recordCase({}, 'failed'), { outcome: 'succeeded' });
    const [result] = (await runEval(folder.path, fixtureSetup())).cases;
    expect(result).toMatchObject({
      success: false,
      outcome: { expected: 'succeeded', recorded: 'failed', ok: false },
      failures: ['outcome: expected succeeded, the recorded run ended failed'],
    });
  });

  it('reports the divergence of a changed agent, and judges only the calls the replay answered', async () => {
    folder = createRegressionFolder();
    folder.add('standard', standard, GOVERNANCE);
    const report = await runEval(folder.path, fixtureSetup({ amounts: [2_500, 26_000] }));
    const [result] = report.cases;
    expect(result!.replay).toMatchObject({
      status: 'diverged',
      steps: { recorded: 8 },
      divergence: { kind: 'tool_input_changed', step: 6 },
    });
    expect(result!.replay!.divergence!.diff).toContain('amountCents');
    expect(result!.failures[0]).toBe(
      'replay diverged at step 6 (tool_input_changed): "billing.refund" was called with different input than recorded at step 6',
    );
    // The changed refund and the mail after it were never answered.
    expect(result!.calls).toEqual({ total: 2, denied: 0, pendingApproval: 0 });
    expect(report.metrics).toMatchObject({ successRate: 0, replaySuccessRate: 0, replayMatched: 0 });
  });

  it("judges calls by the current policy's decision when it differs from the recording", async () => {
    folder = createRegressionFolder();
    folder.add('standard', standard, GOVERNANCE);
    // Someone loosened the policy: large refunds no longer wait for finance.
    const loose = definePolicy({ id: 'fixture', version: '2' }, [
      permit({ id: 'lookups', tools: ['crm.lookup'] }),
      permit({ id: 'all-refunds', tools: ['billing.refund'] }),
      forbid({ id: 'no-mail', tools: ['mail.send'] }),
    ]);
    const [result] = (await runEval(folder.path, fixtureSetup({}, loose))).cases;
    expect(result!.replay?.status).toBe('matched');
    expect(result!.policyChanges).toEqual([
      {
        step: 6,
        callId: expect.any(String),
        tool: 'billing.refund',
        recorded: { effect: 'require_approval', ruleIds: ['large-refunds'] },
        current: { effect: 'allow', ruleIds: ['all-refunds'] },
      },
    ]);
    expect(result!.failures).toEqual([
      'requires_approval_above billing.refund: billing.refund with amountCents above 10000 must wait for 2 finance approvers: amountCents 25000 at step 6 (allowed by the current policy (recorded pending_approval))',
      'max_calls billing.refund: billing.refund went through 2 times, at most 1 allowed: step 5 (ok), step 6 (allowed by the current policy (recorded pending_approval))',
      'policy: the current policy decides billing.refund at step 6 allow [all-refunds], the recording has require_approval [large-refunds]; re-record this case if the change is intended',
    ]);
  });

  it('counts a current policy that asks for fewer approvers as a broken approval assertion', async () => {
    const oneApprover = definePolicy({ id: 'fixture', version: '3' }, [
      permit({ id: 'lookups', tools: ['crm.lookup'] }),
      permit({
        id: 'small-refunds',
        tools: ['billing.refund'],
        when: ({ input }) => (input as { amountCents: number }).amountCents <= 10_000,
      }),
      forbid({
        id: 'large-refunds',
        tools: ['billing.refund'],
        when: ({ input }) => (input as { amountCents: number }).amountCents > 10_000,
      }),
      forbid({ id: 'no-mail', tools: ['mail.send'] }),
    ]);
    // Denying the large refund instead of holding it still satisfies "approval or refused".
    const result = await runEvalCase(standard, fixtureSetup({}, oneApprover), { expectation: GOVERNANCE });
    expect(result.assertions.every((a) => a.passed)).toBe(true);
    expect(result.policyChanges.map((c) => c.current.effect)).toEqual(['deny']);
    expect(result.success).toBe(false); // the recording is stale under the new policy
  });

  it('passes or fails against a baseline with an allowed drop', async () => {
    folder = createRegressionFolder();
    folder.add('a', standard, GOVERNANCE);
    folder.add('b', await recordCase({ amounts: [2_500, 4_000] }), GOVERNANCE); // fails max_calls
    const baseline = { metrics: { successRate: 1 }, generatedAt: '2026-11-01T00:00:00.000Z' };
    const strict = await runEval(folder.path, fixtureSetup(), { baseline });
    expect(strict.metrics.successRate).toBe(0.5);
    expect(strict.baseline).toEqual({
      successRate: 1,
      generatedAt: '2026-11-01T00:00:00.000Z',
      maxDrop: 0.02,
      minimum: 0.98,
      passed: false,
    });
    expect(strict.passed).toBe(false);
    expect(renderEvalReport(strict)).toContain('FAILED: task success 50.0% is below 98.0%');
    const lenient = await runEval(folder.path, fixtureSetup(), { baseline, maxDrop: 0.5 });
    expect(lenient.passed).toBe(true);
    const same = await runEval(folder.path, fixtureSetup(), { baseline: strict });
    expect(same.passed).toBe(true); // no drop from the last report: a failing case already known passes
  });

  it('writes a report that reads back as a baseline', async () => {
    folder = createRegressionFolder();
    folder.add('a', standard, GOVERNANCE);
    const report = await runEval(folder.path, fixtureSetup(), { clock: fixedClock });
    const path = join(folder.path, 'out', 'report.json');
    await writeEvalReport(path, report);
    expect(existsSync(path)).toBe(true);
    expect(JSON.parse(readFileSync(path, 'utf8'))).toEqual(JSON.parse(JSON.stringify(report)));
    const baseline = await readEvalReport(path);
    expect(baseline.metrics.successRate).toBe(1);
    const again = await runEval(folder.path, fixtureSetup(), { baseline });
    expect(again.baseline).toMatchObject({
      successRate: 1,
      generatedAt: '2026-11-05T10:00:00.000Z',
      passed: true,
    });
  });

  it('fails a case whose bundle is tampered or unreadable, and runs the others', async () => {
    folder = createRegressionFolder();
    const tampered = JSON.parse(JSON.stringify(standard)) as { events: { payload: unknown }[] };
    (tampered.events[3]!.payload as { input: unknown }).input = { email: 'mallory@example.com' };
    folder.add('a-tampered', JSON.stringify(tampered), GOVERNANCE);
    folder.add('b-garbage', '{not json');
    folder.add('c-good', standard, GOVERNANCE);
    const report = await runEval(folder.path, fixtureSetup());
    expect(report.cases.map((c) => [c.name, c.success])).toEqual([
      ['a-tampered', false],
      ['b-garbage', false],
      ['c-good', true],
    ]);
    expect(report.cases[0]).toMatchObject({
      replay: null,
      runId: null,
      outcome: { expected: 'succeeded', ok: false },
    });
    expect(report.cases[0]!.error).toMatch(
      /^bundle cannot be loaded: bundle events do not verify \(PAYLOAD_MISMATCH/,
    );
    expect(report.cases[1]!.error).toMatch(/^bundle cannot be loaded: bundle is not JSON/);
    expect(report.metrics).toMatchObject({ cases: 3, succeeded: 1, replayMatched: 1 });
    expect(renderEvalReport(report)).toContain('FAIL  a-tampered  bundle cannot be loaded');
  });

  it('refuses a bad folder, an invalid or orphan expect file, and bad options before replaying', async () => {
    folder = createRegressionFolder();
    await expect(runEval(folder.path, fixtureSetup())).rejects.toThrow(/no \*\.bundle\.json files in/);
    await expect(runEval(join(folder.path, 'missing'), fixtureSetup())).rejects.toThrow(
      /regression folder .*missing cannot be read/,
    );
    folder.add('a', standard, {
      outcome: 'succeeded',
      assertions: [{ kind: 'never_sent', tool: 'mail.send' }],
    });
    await expect(runEval(folder.path, fixtureSetup())).rejects.toThrow(
      /a\.expect\.json is invalid at assertions\[0\]\.kind: kind must be one of never_called, max_calls, requires_approval_above, decision, got "never_sent"/,
    );
    folder.add('a', standard, GOVERNANCE);
    folder.write('typo.expect.json', '{}');
    await expect(runEval(folder.path, fixtureSetup())).rejects.toThrow(
      /typo\.expect\.json in .* has no bundle beside it/,
    );
    await expect(
      runEval(folder.path, fixtureSetup(), { baseline: { metrics: { successRate: 2 } } }),
    ).rejects.toThrow(/baseline has no success rate between 0 and 1/);
    await expect(runEval(folder.path, fixtureSetup(), { maxDrop: 2 })).rejects.toThrow(
      /maxDrop must be a fraction between 0 and 1/,
    );
    await expect(runEval(folder.path, { tools: [] } as never)).rejects.toThrow(/needs a replay setup/);
  });

  it('stops between cases when aborted', async () => {
    folder = createRegressionFolder();
    folder.add('a', standard);
    folder.add('b', standard);
    const controller = new AbortController();
    const run = runEval(folder.path, fixtureSetup(), {
      signal: controller.signal,
      onCase: () => controller.abort(),
    });
    await expect(run).rejects.toMatchObject({
      code: 'CUSTODY_ABORTED',
      message: expect.stringContaining('after 1 cases'),
    });
  });
});

describe('runEvalCase', () => {
  it("checks assertions on the input as the tool's schema parsed it", async () => {
    const refund = defineTool({
      name: 'billing.refund',
      version: '2.0.0',
      effect: 'write',
      input: z.object({ customerId: z.string(), amountCents: z.coerce.number().int().positive() }),
      output: z.object({ refundId: z.string() }),
      execute: async () => ({ refundId: 're_1' }),
    });
    const agent = (run: Run) => run.call('billing.refund', { customerId: 'cus_1', amountCents: '25000' });
    const runtime = createRuntime({ tools: [refund], policy });
    const run = await runtime.startRun({
      actor: { kind: 'agent', id: 'refund-bot' },
      agent: { id: 'refund-bot', version: '1.0.0', tools: ['billing.*'] },
      scope: { tenant: 'acme' },
    });
    await agent(run);
    await run.end({ outcome: 'succeeded' });
    const bundle = await exportBundle(runtime.stores.ledger, run.runId);
    const result = await runEvalCase(bundle, defineReplaySetup({ tools: [refund], agent }), {
      expectation: { assertions: [GOVERNANCE.assertions[1]!] },
    });
    expect(result.assertions[0]).toMatchObject({
      passed: true,
      message:
        '1 call of billing.refund with amountCents above 10000: each held for 2 finance approvers or refused',
    });
  });

  it('judges a bundle in memory, named after its run', async () => {
    const result = await runEvalCase(single, fixtureSetup(), { expectation: GOVERNANCE });
    expect(result).toMatchObject({ name: single.run.runId, file: null, success: true });
  });

  it('reports an agent that throws as a divergence', async () => {
    const result = await runEvalCase(standard, {
      ...fixtureSetup(),
      agent: () => {
        throw new Error('model unavailable');
      },
    });
    expect(result.replay?.divergence).toMatchObject({ kind: 'agent_error', step: 0 });
    expect(result.failures).toEqual([
      'replay diverged at step 0 (agent_error): the agent threw at step 0: model unavailable',
    ]);
  });
});
