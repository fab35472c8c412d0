import { type Principal, scopeGranted } from '@custody/core';

/**
 * True when `principal` holds `role`. Accepts `undefined` (an absent `onBehalfOf`) and answers
 * false, so conditions need no guard.
 *
 * @example
 * ```ts
 * forbid({ id: 'admins-only', tools: ['jira.settings.*'], when: ({ principal }) => !hasRole(principal, 'jira-admin') });
 * ```
 */
export function hasRole(principal: Principal | undefined, role: string): boolean {
  return principal?.roles?.includes(role) ?? false;
}

/**
 * True when `principal` was granted `scope`, exactly or through a prefix grant ending in `*`
 * (`stripe:*` covers `stripe:refunds:write`). The runtime already checks each tool's declared
 * scopes before the policy runs; use this for scopes a rule adds on top.
 *
 * @example
 * ```ts
 * requireApproval({
 *   id: 'bulk-export-needs-approval',
 *   tools: ['crm.export'],
 *   when: ({ principal }) => !hasScope(principal, 'crm:export:bulk'),
 *   approvers: { role: 'data-owner', count: 1 },
 * });
 * ```
 */
export function hasScope(principal: Principal | undefined, scope: string): boolean {
  return scopeGranted(principal?.scopes, scope);
}
