import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createRuntime,
  defineTool,
  type PolicyDecision,
  type PolicyEngine,
  type RuntimeStores,
} from '@custody/core';
import { createSequentialIds, FakeClock } from '@custody/core/testing';
import type { SqliteDatabase, SqliteDriver } from '@custody/store-sqlite';
import { createSqliteStores } from '@custody/store-sqlite';
import { z } from 'zod';
import type { CliIo } from '../src/cli-io.js';
import { runCli } from '../src/index.js';

/** A refund policy written inline (the CLI must not depend on @custody/policy): refunds above 1000 cents are denied. */
export const refundPolicy: PolicyEngine = {
  specificationVersion: 'v1',
  ref: { id: 'cli-test-policy', version: '1', hash: 'a'.repeat(64) },
  decide(request): PolicyDecision {
    const amount = (request.input as { amountCents?: number }).amountCents ?? 0;
    const deny = request.tool.name === 'payments.refund' && amount > 1000;
    return {
      effect: deny ? 'deny' : 'allow',
      policy: refundPolicy.ref,
      ruleIds: [deny ? 'large-refunds' : 'default-allow'],
      reasons: [deny ? 'refunds above $10 need a human' : 'allowed'],
    };
  },
};

const lookupOrder = defineTool({
  name: 'orders.lookup',
  version: '1.0.0',
  effect: 'read',
  input: z.object({ orderId: z.string() }),
  output: z.object({ orderId: z.string(), totalCents: z.number() }),
  execute: ({ orderId }) => ({ orderId, totalCents: 4200 }),
});

const refund = defineTool({
  name: 'payments.refund',
  version: '1.0.0',
  effect: 'write',
  input: z.object({ orderId: z.string(), amountCents: z.number().int().positive() }),
  output: z.object({ refundId: z.string() }),
  execute: ({ orderId }) => ({ refundId: `re_${orderId}` }),
});

/** The runs {@link recordRuns} writes, in order. */
export const FIXTURE_RUNS = {
  /** acme: looks an order up, refunds 500 cents; succeeded. */
  refunded: 'run_0001',
  /** acme: a 5000-cent refund is denied; failed. */
  denied: 'run_0002',
  /** globex: looks an order up and never ends. */
  open: 'run_0003',
} as const;

/**
 * Records three runs through a real runtime into `stores`, one minute apart on a fake clock,
 * with sequential ids (run_0001…, trace ids 000…1, …).
 */
export async function recordRuns(stores: Partial<RuntimeStores>): Promise<void> {
  const clock = new FakeClock('2026-11-02T09:00:00.000Z');
  const runtime = createRuntime({
    tools: [lookupOrder, refund],
    policy: refundPolicy,
    stores,
    clock,
    ids: createSequentialIds(),
  });
  const agent = { id: 'support-bot', version: '1.2.0', tools: ['orders.*', 'payments.*'] };
  const actor = { kind: 'agent', id: 'support-bot' } as const;

  const first = await runtime.startRun({ actor, agent, scope: { tenant: 'acme' } });
  await first.call('orders.lookup', { orderId: 'A-1' });
  await first.call('payments.refund', { orderId: 'A-1', amountCents: 500 });
  await first.end({ outcome: 'succeeded' });

  clock.advance(60_000);
  const second = await runtime.startRun({ actor, agent, scope: { tenant: 'acme' } });
  await second.call('payments.refund', { orderId: 'A-2', amountCents: 5000 });
  await second.end({ outcome: 'failed', reason: 'refund denied' });

  clock.advance(60_000);
  const third = await runtime.startRun({ actor, agent, scope: { tenant: 'globex' } });
  await third.call('orders.lookup', { orderId: 'G-1' });
  await third.flush();
}

/** A temporary folder holding a SQLite ledger with {@link recordRuns}' runs. */
export interface SqliteLedgerFixture {
  readonly dir: string;
  readonly path: string;
  /** A copy of the ledger file, to change without touching the original. */
  copy(name: string): string;
  remove(): void;
}

/** Builds a SQLite ledger file with the fixture's runs, closed and ready for the CLI. */
export async function createSqliteLedgerFixture(): Promise<SqliteLedgerFixture> {
  const dir = mkdtempSync(join(tmpdir(), 'custody-cli-'));
  const path = join(dir, 'ledger.db');
  const stores = createSqliteStores({ path });
  await recordRuns(stores);
  await stores.close();
  return {
    dir,
    path,
    copy(name) {
      const target = join(dir, name);
      copyFileSync(path, target);
      return target;
    },
    remove: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** better-sqlite3, resolved through @custody/store-sqlite (the CLI doesn't depend on it directly). */
export function openSqlite(path: string): SqliteDatabase {
  const require = createRequire(import.meta.url);
  const storeSqlite = require.resolve('@custody/store-sqlite/package.json');
  const Database = createRequire(storeSqlite)('better-sqlite3') as SqliteDriver;
  return new Database(path);
}

/** Runs SQL on a ledger file with the append-only triggers dropped, as an attacker with the file could. */
export function tamperSqlite(path: string, sql: string): void {
  const db = openSqlite(path);
  // Whatever triggers this schema version has: an attacker with the file just drops them all.
  const triggers = db
    .prepare(`SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'custody_events'`)
    .all() as { name: string }[];
  if (triggers.length === 0) throw new Error(`no append-only triggers in ${path}: the schema changed`);
  for (const { name } of triggers) db.exec(`DROP TRIGGER "${name}"`);
  db.exec(sql);
  db.close();
}

/** What a command printed, and its exit code. */
export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the CLI in process with captured output. */
export async function cli(
  argv: readonly string[],
  options: { tty?: boolean; env?: Record<string, string | undefined> } = {},
): Promise<CliRun> {
  let stdout = '';
  let stderr = '';
  const io: CliIo = {
    stdout: { write: (text: string) => (stdout += text), isTTY: options.tty ?? false },
    stderr: { write: (text: string) => (stderr += text), isTTY: options.tty ?? false },
    env: options.env ?? {},
  };
  const code = await runCli(argv, io);
  return { code, stdout, stderr };
}
