import type { ActionDigest } from '../action-digest.js';
import type { ApproverRequirement, PolicyRef } from '../policy.js';
import type { ResourceScope } from '../principal.js';

/** Where an approval request stands. */
export type ApprovalStatus = 'pending' | 'approved' | 'rejected' | 'expired' | 'consumed';

/**
 * A durable request for approval of one action, bound to its {@link ActionDigest}. Created when
 * a policy answers `require_approval`; nothing runs until it is approved and consumed.
 */
export interface ApprovalRequest {
  readonly id: string;
  readonly digest: ActionDigest;
  readonly status: ApprovalStatus;
  readonly tenant: string;
  readonly runId: string;
  readonly callId: string;
  readonly tool: { readonly name: string; readonly version: string };
  readonly input: unknown;
  readonly resource: ResourceScope;
  /** `kind:id` of the principal whose action this is; it may never approve it. */
  readonly requestedBy: string;
  readonly onBehalfOf: string | null;
  readonly agent: { readonly id: string; readonly version: string };
  readonly approvers: readonly ApproverRequirement[];
  readonly policy: PolicyRef;
  readonly ruleIds: readonly string[];
  readonly reasons: readonly string[];
  /** ISO 8601. */
  readonly createdAt: string;
  /** ISO 8601; an expired request can never be approved. */
  readonly expiresAt: string;
}

/** Filters for listing approval requests. */
export interface ApprovalQuery {
  readonly tenant?: string;
  readonly runId?: string;
  readonly status?: ApprovalStatus;
}

/**
 * The approvals port. `create` rejects a duplicate id with `CUSTODY_STORE_ERROR`; requests are
 * returned as stored.
 */
export interface ApprovalStore {
  readonly specificationVersion: 'v1';
  create(request: ApprovalRequest, options?: { signal?: AbortSignal }): Promise<void>;
  get(id: string, options?: { signal?: AbortSignal }): Promise<ApprovalRequest | undefined>;
  list(query?: ApprovalQuery, options?: { signal?: AbortSignal }): Promise<ApprovalRequest[]>;
  close?(): Promise<void>;
}
