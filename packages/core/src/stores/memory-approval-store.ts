import { CustodyError } from '../errors.js';
import type { ApprovalQuery, ApprovalRequest, ApprovalStore } from './approval-store.js';

/** Approval requests in a map. Nothing survives the process. */
export class InMemoryApprovalStore implements ApprovalStore {
  readonly specificationVersion = 'v1' as const;
  readonly #requests = new Map<string, ApprovalRequest>();

  async create(request: ApprovalRequest): Promise<void> {
    if (this.#requests.has(request.id)) {
      throw new CustodyError('CUSTODY_STORE_ERROR', `approval request ${request.id} already exists`, {
        details: { id: request.id },
      });
    }
    // A structured clone, so later changes to the caller's object cannot rewrite what was stored.
    this.#requests.set(request.id, structuredClone(request));
  }

  async get(id: string): Promise<ApprovalRequest | undefined> {
    const request = this.#requests.get(id);
    return request && structuredClone(request);
  }

  async list(query: ApprovalQuery = {}): Promise<ApprovalRequest[]> {
    const out: ApprovalRequest[] = [];
    for (const request of this.#requests.values()) {
      if (query.tenant !== undefined && request.tenant !== query.tenant) continue;
      if (query.runId !== undefined && request.runId !== query.runId) continue;
      if (query.status !== undefined && request.status !== query.status) continue;
      out.push(structuredClone(request));
    }
    return out;
  }
}
