import { toJSONSchema } from 'zod';
import { replayBundleSchema } from './bundle.js';

/** The bundle's JSON Schema (draft 2020-12), as `bundle.schema.json` holds it. */
export function bundleJsonSchemaText(): string {
  const schema = toJSONSchema(replayBundleSchema, { target: 'draft-2020-12', unrepresentable: 'any' });
  return `${JSON.stringify({ $id: 'urn:custody:replay-bundle:v1', title: 'Custody replay bundle v1', ...schema }, null, 2)}\n`;
}
