import { defineTool } from '@custody/core';
import { z } from 'zod';

/** A Jira stand-in kept in memory: the example runs offline. */
export function createFakeJira() {
  const issues = new Map<
    string,
    { key: string; project: string; summary: string; priority: string; labels: string[] }
  >();
  const settings = { allowAnonymousAccess: false };

  const createIssue = defineTool({
    name: 'jira.create_issue',
    version: '1.2.0',
    effect: 'write',
    scopes: ['jira:issues:write'],
    description: 'File a Jira issue in a project.',
    input: z.object({
      project: z.string().regex(/^[A-Z]+$/),
      summary: z.string().min(5).max(200),
      priority: z.enum(['low', 'medium', 'high']).default('medium'),
      labels: z.array(z.string()).default([]),
    }),
    output: z.object({ key: z.string() }),
    resource: (input) => ({ project: input.project }),
    execute: async (input) => {
      const key = `${input.project}-${issues.size + 101}`;
      issues.set(key, { key, ...input });
      return { key };
    },
    verify: async ({ input, output }) => issues.get(output.key)?.summary === input.summary,
    compensate: async ({ output }) => {
      issues.delete(output.key);
    },
  });

  const updateIssue = defineTool({
    name: 'jira.update_issue',
    version: '1.0.0',
    effect: 'write',
    scopes: ['jira:issues:write'],
    description: 'Change the priority or labels of an issue.',
    input: z.object({
      key: z.string(),
      priority: z.enum(['low', 'medium', 'high']).optional(),
      labels: z.array(z.string()).optional(),
    }),
    output: z.object({ key: z.string(), priority: z.string() }),
    execute: async (input) => {
      const issue = issues.get(input.key);
      if (!issue) throw new Error(`no issue ${input.key}`);
      if (input.priority) issue.priority = input.priority;
      if (input.labels) issue.labels = input.labels;
      return { key: issue.key, priority: issue.priority };
    },
  });

  const updateSettings = defineTool({
    name: 'jira.settings.update',
    version: '1.0.0',
    effect: 'destructive',
    scopes: ['jira:admin'],
    description: 'Change global Jira settings.',
    input: z.object({ allowAnonymousAccess: z.boolean() }),
    output: z.object({ ok: z.boolean() }),
    execute: async (input) => {
      settings.allowAnonymousAccess = input.allowAnonymousAccess;
      return { ok: true };
    },
  });

  return { issues, settings, tools: [createIssue, updateIssue, updateSettings] };
}
