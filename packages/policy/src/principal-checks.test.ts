import { describe, expect, it } from 'vitest';
import { hasRole, hasScope } from './principal-checks.js';

describe('hasRole', () => {
  it('is true only for a role the principal holds', () => {
    const ana = { kind: 'user', id: 'ana', roles: ['finance', 'support'] } as const;
    expect(hasRole(ana, 'finance')).toBe(true);
    expect(hasRole(ana, 'fin')).toBe(false);
    expect(hasRole({ kind: 'user', id: 'bo' }, 'finance')).toBe(false);
    expect(hasRole(undefined, 'finance')).toBe(false);
  });
});

describe('hasScope', () => {
  it('accepts exact and prefix grants, like the runtime', () => {
    const bot = { kind: 'service', id: 'bot', scopes: ['jira:read', 'stripe:*'] } as const;
    expect(hasScope(bot, 'jira:read')).toBe(true);
    expect(hasScope(bot, 'stripe:refunds:write')).toBe(true);
    expect(hasScope(bot, 'jira:write')).toBe(false);
    expect(hasScope({ kind: 'user', id: 'x' }, 'jira:read')).toBe(false);
    expect(hasScope(undefined, 'jira:read')).toBe(false);
  });
});
