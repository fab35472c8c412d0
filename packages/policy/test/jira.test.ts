// Seed example: an agent files and updates issues, but never touches global settings.
import { defineTool } from '@custody/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { definePolicy, forbid, hasRole, permit } from '../src/index.js';
import { createPolicyRequest } from '../src/testing/index.js';

const createIssue = defineTool({
  name: 'jira.issues.create',
  version: '1.0.0',
  effect: 'write',
  input: z.object({ projectKey: z.string(), summary: z.string().min(1) }),
  output: z.object({ key: z.string() }),
  execute: () => ({ key: 'OPS-1' }),
});
const updateIssue = defineTool({
  name: 'jira.issues.update',
  version: '1.0.0',
  effect: 'write',
  input: z.object({ key: z.string(), fields: z.record(z.string(), z.unknown()) }),
  output: z.object({ key: z.string() }),
  execute: () => ({ key: 'OPS-1' }),
});

const policy = definePolicy({ id: 'jira-agent', version: '2025-06-01' }, [
  permit({ id: 'jira-issues', tools: [createIssue, updateIssue], reason: 'agents may file and edit issues' }),
  // Even a broad grant elsewhere cannot reach global settings: forbids win.
  permit({ id: 'jira-admins', tools: ['jira.*'], when: ({ principal }) => hasRole(principal, 'jira-admin') }),
  forbid({
    id: 'jira-global-settings',
    tools: ['jira.settings.*', 'jira.admin.*'],
    reason: 'global settings change every project; an administrator changes them by hand',
  }),
]);

describe('seed example: Jira', () => {
  it('allows creating and updating issues', () => {
    const created = createPolicyRequest({
      tool: createIssue,
      input: { projectKey: 'OPS', summary: 'Printer on fire' },
    });
    expect(policy.decide(created)).toEqual({
      effect: 'allow',
      policy: policy.ref,
      ruleIds: ['jira-issues'],
      reasons: ['agents may file and edit issues'],
    });
    const updated = createPolicyRequest({
      tool: updateIssue,
      input: { key: 'OPS-1', fields: { priority: 'High' } },
    });
    expect(policy.decide(updated)).toMatchObject({ effect: 'allow', ruleIds: ['jira-issues'] });
  });

  it('denies global settings, even for a principal a broader rule permits', () => {
    const admin = { kind: 'user', id: 'root', roles: ['jira-admin'] } as const;
    for (const principal of [undefined, admin]) {
      const request = createPolicyRequest({ tool: 'jira.settings.update', input: { key: 'x' }, principal });
      expect(policy.decide(request)).toEqual({
        effect: 'deny',
        policy: policy.ref,
        ruleIds: ['jira-global-settings'],
        reasons: ['global settings change every project; an administrator changes them by hand'],
      });
    }
    expect(policy.decide(createPolicyRequest({ tool: 'jira.admin.users.delete' })).effect).toBe('deny');
  });

  it('denies other Jira tools unless the role-based rule applies', () => {
    expect(policy.decide(createPolicyRequest({ tool: 'jira.issues.delete' })).effect).toBe('deny');
    const asAdmin = createPolicyRequest({
      tool: 'jira.issues.delete',
      principal: { kind: 'user', id: 'root', roles: ['jira-admin'] },
    });
    expect(policy.decide(asAdmin)).toMatchObject({ effect: 'allow', ruleIds: ['jira-admins'] });
  });
});
