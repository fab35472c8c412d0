import { defineConfig } from 'tsup';

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm', 'cjs'],
    dts: true,
    sourcemap: true,
    // Clean dist, but not the bin below: it is built beside this, in parallel.
    clean: ['!cli.js', '!cli.js.map'],
    target: 'node20',
    // The CJS build needs import.meta.url for createRequire (reading package.json for --version).
    shims: true,
  },
  {
    // The `custody` bin: ESM only (it uses top-level await), runnable directly.
    entry: ['src/cli.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node20',
    banner: { js: '#!/usr/bin/env node' },
  },
]);
