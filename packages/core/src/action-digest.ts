import { canonicalize } from './ledger/canonical-json.js';
import { sha256Hex } from './ledger/hash.js';
import type { PolicyRef } from './policy.js';
import { type AgentIdentity, type Principal, principalRef, type ResourceScope } from './principal.js';

/** The facts an approval is bound to. Change any of them and the approval no longer applies. */
export interface ActionDigestInput {
  readonly principal: Principal;
  readonly onBehalfOf?: Principal | undefined;
  readonly agent: Pick<AgentIdentity, 'id' | 'version'>;
  readonly tool: { readonly name: string; readonly version: string };
  readonly resource: ResourceScope;
  readonly input: unknown;
  readonly policy: PolicyRef;
}

/** SHA-256 hex over the RFC 8785 canonical JSON of an action. */
export type ActionDigest = string;

/**
 * Computes the digest an approval is bound to: principal, agent, tool and its version, resource,
 * canonical input and policy version. Approving one action never approves another.
 */
export function computeActionDigest(action: ActionDigestInput): ActionDigest {
  return sha256Hex(
    canonicalize({
      v: 1,
      principal: principalRef(action.principal),
      onBehalfOf: action.onBehalfOf ? principalRef(action.onBehalfOf) : null,
      agent: { id: action.agent.id, version: action.agent.version },
      tool: { name: action.tool.name, version: action.tool.version },
      resource: { ...action.resource },
      input: action.input,
      policy: { id: action.policy.id, version: action.policy.version, hash: action.policy.hash },
    }),
  );
}
