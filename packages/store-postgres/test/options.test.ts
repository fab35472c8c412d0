import { CustodyError } from '@custody/core';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import {
  createPostgresStores,
  type PgModule,
  type PostgresPool,
  type PostgresStoresOptions,
} from '../src/index.js';

function invalid(options: unknown): string {
  try {
    createPostgresStores(options as PostgresStoresOptions);
  } catch (error) {
    expect(CustodyError.isInstance(error) && error.code).toBe('CUSTODY_INVALID_ARGUMENT');
    return (error as Error).message;
  }
  throw new Error('expected createPostgresStores to throw');
}

/** A stand-in for the pg module that records what the adapter does with it (no database). */
function fakePg() {
  const made: { config: Record<string, unknown>; ended: boolean }[] = [];
  const pg: PgModule = {
    Pool: class {
      readonly record: { config: Record<string, unknown>; ended: boolean };
      constructor(config: Record<string, unknown>) {
        this.record = { config, ended: false };
        made.push(this.record);
      }
      async query() {
        return { rows: [], rowCount: 0 };
      }
      async connect(): Promise<never> {
        throw new Error('not used');
      }
      async end() {
        this.record.ended = true;
      }
    },
  };
  return { pg, made };
}

describe('createPostgresStores options', () => {
  const pool = { query: async () => ({ rows: [], rowCount: 0 }), connect: async () => ({}) as never };

  it('checks them at once, with messages that say what to do', () => {
    expect(invalid(undefined)).toMatch(/takes an options object/);
    expect(invalid({})).toMatch(/give a pg.Pool as client, or a connectionString/);
    expect(invalid({ client: pool, connectionString: 'postgres://x' })).toMatch(/not both/);
    expect(invalid({ client: {} })).toMatch(
      /client must be a pg.Pool or an object with query\(text, params\) and connect\(\), got an object/,
    );
    expect(invalid({ connectionString: '  ' })).toMatch(/connectionString must be a non-empty string/);
    expect(invalid({ client: pool, schema: 'custody; DROP TABLE users' })).toMatch(
      /schema must be a plain SQL identifier .* got "custody; DROP TABLE users"/,
    );
    expect(invalid({ client: pool, schema: '' })).toMatch(/plain SQL identifier/);
    expect(invalid({ client: pool, maxBatchEvents: 0 })).toMatch(
      /maxBatchEvents must be a positive integer, got 0/,
    );
    expect(invalid({ client: pool, poolOptions: { max: 3 } })).toMatch(
      /poolOptions only apply with connectionString/,
    );
    expect(invalid({ client: pool, shema: 'typo' })).toMatch(/unknown option "shema"/);
    expect(invalid({ connectionString: 'postgres://x', pg: {} })).toMatch(/pg must be the pg module/);
  });

  it('takes the real pg module and pg.Pool as they are (checked by the type checker)', async () => {
    const module: PgModule = pg;
    const real: PostgresPool = new pg.Pool({ max: 1 });
    expect(createPostgresStores({ client: real }).schema).toBe('custody');
    expect(createPostgresStores({ connectionString: 'postgres://x', pg: module }).schema).toBe('custody');
    await (real as pg.Pool).end();
  });

  it('accepts a pool and a schema name that keeps its case', () => {
    expect(createPostgresStores({ client: pool, schema: 'Audit_2025' }).schema).toBe('Audit_2025');
    expect(createPostgresStores({ client: pool }).schema).toBe('custody');
  });

  it('creates its own pool only on first use, with the pool options, and ends it on close', async () => {
    const { pg, made } = fakePg();
    const stores = createPostgresStores({
      connectionString: 'postgres://app@db/prod',
      poolOptions: { max: 7 },
      pg,
    });
    expect(made).toHaveLength(0);
    expect(await stores.ledger.head('run-1')).toBeUndefined();
    expect(await stores.approvals.get('a')).toBeUndefined();
    expect(made).toHaveLength(1);
    expect(made[0]!.config).toEqual({ max: 7, connectionString: 'postgres://app@db/prod' });
    await stores.close();
    expect(made[0]!.ended).toBe(true);
  });

  it('leaves a pool it was given open on close', async () => {
    let ended = false;
    const own = {
      ...pool,
      end: async () => {
        ended = true;
      },
    };
    const stores = createPostgresStores({ client: own });
    await stores.close();
    expect(ended).toBe(false);
    await expect(stores.approvals.get('a')).rejects.toMatchObject({ code: 'CUSTODY_STORE_ERROR' });
  });
});
