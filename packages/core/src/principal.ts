/** The kinds of principal that can act. */
export type PrincipalKind = 'user' | 'service' | 'workflow' | 'agent';

/**
 * Who acts. Identity is explicit and never a shared credential: each principal has its own id,
 * its roles (used by approval quorums) and the scopes it was granted (checked against each tool's
 * required scopes).
 */
export interface Principal {
  readonly kind: PrincipalKind;
  readonly id: string;
  readonly roles?: readonly string[];
  /** Granted scopes, e.g. `stripe:refunds:write`. A trailing `*` grants a whole prefix. */
  readonly scopes?: readonly string[];
  /** Tenant the principal belongs to, when it is tenant-bound. */
  readonly tenant?: string;
}

/**
 * A named, versioned agent and the tools it may call. Patterns are `connector.action` with `*`
 * wildcards (`jira.*`, `*.read`); a tool not matched by any pattern is denied.
 */
export interface AgentIdentity {
  readonly id: string;
  readonly version: string;
  readonly tools: readonly string[];
}

/**
 * The resource a run is bound to. `tenant` is required; narrower levels are optional. A tool call
 * whose resource resolves outside this scope is denied.
 */
export interface ResourceScope {
  readonly tenant: string;
  readonly workspace?: string;
  readonly project?: string;
  readonly customer?: string;
}

/** The levels of a {@link ResourceScope}, outermost first. */
export const RESOURCE_LEVELS = ['tenant', 'workspace', 'project', 'customer'] as const;

/** `kind:id` — how a principal is written in events and digests. */
export function principalRef(principal: Pick<Principal, 'kind' | 'id'>): string {
  return `${principal.kind}:${principal.id}`;
}

/**
 * The first level at which `resource` leaves `scope`, or undefined when it stays inside. A level
 * the scope leaves open accepts any value; a level the resource does not name inherits the scope.
 */
export function resourceOutsideScope(
  scope: ResourceScope,
  resource: Partial<ResourceScope>,
): { level: (typeof RESOURCE_LEVELS)[number]; expected: string; got: string } | undefined {
  for (const level of RESOURCE_LEVELS) {
    const expected = scope[level];
    const got = resource[level];
    if (expected !== undefined && got !== undefined && got !== expected) return { level, expected, got };
  }
  return undefined;
}

/** True when `granted` (exact, or a prefix ending in `*`) covers `required`. */
export function scopeGranted(granted: readonly string[] | undefined, required: string): boolean {
  if (!granted) return false;
  for (const scope of granted) {
    if (scope === required || scope === '*') return true;
    if (scope.endsWith('*') && required.startsWith(scope.slice(0, -1))) return true;
  }
  return false;
}
