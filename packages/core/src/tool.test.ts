import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { CustodyError } from './errors.js';
import { defineTool, toolCatalogEntry } from './tool.js';

const base = {
  name: 'jira.create_issue',
  version: '1.0.0',
  effect: 'write' as const,
  input: z.object({ summary: z.string() }),
  output: z.object({ id: z.string() }),
  execute: () => ({ id: '1' }),
};

describe('defineTool', () => {
  it('splits connector and action and makes the input strict', () => {
    const tool = defineTool(base);
    expect(tool).toMatchObject({ connector: 'jira', action: 'create_issue', scopes: [] });
    expect(tool.input.safeParse({ summary: 'x', extra: 1 }).success).toBe(false);
    expect(Object.isFrozen(tool)).toBe(true);
  });

  it('keeps an explicit catchall or passthrough', () => {
    const tool = defineTool({ ...base, input: z.object({ summary: z.string() }).passthrough() });
    expect(tool.input.safeParse({ summary: 'x', extra: 1 }).success).toBe(true);
  });

  it.each([
    [{ name: 'createIssue' }, 'tool name must look like "connector.action"', 'got "createIssue"'],
    [{ version: '' }, 'needs a version string', 'got ""'],
    [{ effect: 'delete' }, 'effect must be one of read, write, external_send, destructive', 'got "delete"'],
    [{ input: { parse: () => 1 } }, 'input must be a zod schema', 'got an object'],
    [{ execute: 'nope' }, 'needs an execute function', 'got "nope"'],
    [{ verify: 1 }, 'verify must be a function when given', 'got 1'],
    [{ scopes: ['ok', ''] }, 'scopes must be an array of non-empty strings', 'got an array of 2'],
  ])('rejects %o with a message saying what to fix', (patch, what, got) => {
    try {
      defineTool({ ...base, ...patch } as never);
      expect.unreachable();
    } catch (error) {
      expect(CustodyError.isInstance(error)).toBe(true);
      expect((error as CustodyError).code).toBe('CUSTODY_INVALID_ARGUMENT');
      expect((error as Error).message).toContain(what);
      expect((error as Error).message).toContain(got);
      expect((error as Error).message.startsWith('[custody] ')).toBe(true);
    }
  });
});

describe('toolCatalogEntry', () => {
  it('hashes the schemas: stable for the same contract, different when a field changes', () => {
    const a = toolCatalogEntry(defineTool(base));
    const b = toolCatalogEntry(defineTool({ ...base }));
    const c = toolCatalogEntry(
      defineTool({ ...base, input: z.object({ summary: z.string(), priority: z.number() }) }),
    );
    expect(a.inputSchemaHash).toMatch(/^[0-9a-f]{64}$/);
    expect(b).toEqual(a);
    expect(c.inputSchemaHash).not.toBe(a.inputSchemaHash);
    expect(c.outputSchemaHash).toBe(a.outputSchemaHash);
  });
});
