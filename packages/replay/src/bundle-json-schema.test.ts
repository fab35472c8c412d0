import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { bundleJsonSchemaText } from './bundle-json-schema.js';

describe('bundle.schema.json', () => {
  it('is the current rendering of the bundle schema (regenerate with `pnpm --filter @custody/replay schema`)', () => {
    expect(readFileSync(new URL('../bundle.schema.json', import.meta.url), 'utf8')).toBe(
      bundleJsonSchemaText(),
    );
  });
});
