import { type ApprovalQuery, type ApprovalRequest, type ApprovalStore, CustodyError } from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { type PostgresPool, sqlState, storeError, throwIfAborted } from './database.js';
import type { SchemaNames } from './schema.js';

/**
 * Approval requests in PostgreSQL. Each request is stored whole as JSON text (returned as
 * stored), with its tenant, run and status beside it for the filters; `list` returns them in
 * creation order.
 */
export class PostgresApprovals implements ApprovalStore {
  readonly specificationVersion = 'v1' as const;
  readonly #pool: () => Promise<PostgresPool>;
  readonly #names: SchemaNames;

  constructor(pool: () => Promise<PostgresPool>, names: SchemaNames) {
    this.#pool = pool;
    this.#names = names;
  }

  async create(request: ApprovalRequest, options: { signal?: AbortSignal } = {}): Promise<void> {
    throwIfAborted(options.signal, 'approval create');
    // Canonical JSON refuses what JSON cannot carry faithfully instead of silently dropping it.
    const json = canonicalize(request);
    const pool = await this.#pool();
    let inserted: number;
    try {
      const result = await pool.query(
        `INSERT INTO ${this.#names.approvalRequests} (id, tenant, run_id, status, created_at, expires_at, request)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (id) DO NOTHING`,
        [
          request.id,
          request.tenant,
          request.runId,
          request.status,
          request.createdAt,
          request.expiresAt,
          json,
        ],
      );
      inserted = result.rowCount ?? 0;
    } catch (error) {
      if (sqlState(error) === '23502') {
        throw new CustodyError(
          'CUSTODY_INVALID_ARGUMENT',
          'approval request is missing a required field (id, tenant, runId, status, createdAt, expiresAt)',
          { cause: error },
        );
      }
      throw storeError(error, 'approval create', this.#names.schema);
    }
    if (inserted === 0) {
      throw new CustodyError('CUSTODY_STORE_ERROR', `approval request ${request.id} already exists`, {
        details: { id: request.id },
      });
    }
  }

  async get(id: string, options: { signal?: AbortSignal } = {}): Promise<ApprovalRequest | undefined> {
    throwIfAborted(options.signal, 'approval get');
    const rows = await this.#query(
      `SELECT request FROM ${this.#names.approvalRequests} WHERE id = $1`,
      [id],
      'approval get',
    );
    return rows[0] ? parse(rows[0].request) : undefined;
  }

  async list(query: ApprovalQuery = {}, options: { signal?: AbortSignal } = {}): Promise<ApprovalRequest[]> {
    throwIfAborted(options.signal, 'approval list');
    const where: string[] = [];
    const params: unknown[] = [];
    for (const [column, value] of [
      ['tenant', query.tenant],
      ['run_id', query.runId],
      ['status', query.status],
    ] as const) {
      if (value === undefined) continue;
      params.push(value);
      where.push(`${column} = $${params.length}`);
    }
    const rows = await this.#query(
      `SELECT request FROM ${this.#names.approvalRequests}` +
        (where.length ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY ordinal',
      params,
      'approval list',
    );
    return rows.map((row) => parse(row.request));
  }

  async #query(sql: string, params: unknown[], what: string): Promise<readonly Record<string, unknown>[]> {
    const pool = await this.#pool();
    try {
      return (await pool.query(sql, params)).rows;
    } catch (error) {
      throw storeError(error, what, this.#names.schema);
    }
  }
}

function parse(value: unknown): ApprovalRequest {
  return JSON.parse(String(value)) as ApprovalRequest;
}
