import {
  type ApprovalQuery,
  type ApprovalRequest,
  type ApprovalStore,
  CustodyError,
  describeValue,
} from '@custody/core';
import { canonicalize } from '@custody/core/ledger';
import { isUniqueViolation, type SqliteConnection, storeClosed, storeFailure } from './sqlite-connection.js';
import type { SqliteStatement } from './sqlite-driver.js';

/** The SQLite approval store: the {@link ApprovalStore} port, and `close`. */
export interface SqliteApprovalStore extends ApprovalStore {
  close(): Promise<void>;
}

const FILTERS = [
  ['tenant', 'tenant'],
  ['runId', 'run_id'],
  ['status', 'status'],
] as const;

/**
 * Approval requests as canonical JSON, with their tenant, run and status beside them for
 * filtering. Every read parses a fresh copy, so no caller can change what is stored.
 */
export class SqliteApprovals implements SqliteApprovalStore {
  readonly specificationVersion = 'v1' as const;
  #connection: SqliteConnection | undefined;
  readonly #insert: SqliteStatement;
  readonly #select: SqliteStatement;

  constructor(connection: SqliteConnection) {
    this.#connection = connection.retain();
    this.#insert = connection.statement(
      'INSERT INTO custody_approvals (id, tenant, run_id, status, request) VALUES (?, ?, ?, ?, ?)',
    );
    this.#select = connection.statement('SELECT request FROM custody_approvals WHERE id = ?');
  }

  async create(request: ApprovalRequest): Promise<void> {
    this.#open();
    if (typeof request !== 'object' || request === null) {
      throw invalid(`create expects an approval request, got ${describeValue(request)}`);
    }
    for (const field of ['id', 'tenant', 'runId', 'status'] as const) {
      if (typeof request[field] !== 'string') {
        throw invalid(`approval request ${field} must be a string, got ${describeValue(request[field])}`);
      }
    }
    const json = canonicalize(request);
    try {
      this.#insert.run(request.id, request.tenant, request.runId, request.status, json);
    } catch (error) {
      if (isUniqueViolation(error)) {
        throw new CustodyError('CUSTODY_STORE_ERROR', `approval request ${request.id} already exists`, {
          details: { id: request.id },
        });
      }
      throw storeFailure(`store approval request ${request.id}`, error);
    }
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    this.#open();
    try {
      const row = this.#select.get(id) as { request: string } | undefined;
      return row && (JSON.parse(row.request) as ApprovalRequest);
    } catch (error) {
      throw storeFailure(`read approval request ${id}`, error);
    }
  }

  async list(query: ApprovalQuery = {}): Promise<ApprovalRequest[]> {
    const connection = this.#open();
    const where: string[] = [];
    const params: string[] = [];
    for (const [field, column] of FILTERS) {
      const value = query[field];
      if (value === undefined) continue;
      if (typeof value !== 'string')
        throw invalid(`approval query ${field} must be a string, got ${describeValue(value)}`);
      where.push(`${column} = ?`);
      params.push(value);
    }
    const sql =
      'SELECT request FROM custody_approvals' +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ' ORDER BY rowid';
    try {
      const rows = connection.statement(sql).all(...params) as { request: string }[];
      return rows.map((row) => JSON.parse(row.request) as ApprovalRequest);
    } catch (error) {
      throw storeFailure('list approval requests', error);
    }
  }

  async close(): Promise<void> {
    this.#connection?.release();
    this.#connection = undefined;
  }

  #open(): SqliteConnection {
    if (!this.#connection) throw storeClosed('approval');
    return this.#connection;
  }
}

function invalid(message: string): CustodyError {
  return new CustodyError('CUSTODY_INVALID_ARGUMENT', message);
}
