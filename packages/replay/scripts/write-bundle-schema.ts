// Writes bundle.schema.json, the JSON Schema rendering of the replay bundle's zod schema.
// A test fails when the committed file is out of date: run `pnpm --filter @custody/replay schema`.
import { writeFileSync } from 'node:fs';
import { bundleJsonSchemaText } from '../src/bundle-json-schema.js';

writeFileSync(new URL('../bundle.schema.json', import.meta.url), bundleJsonSchemaText());
