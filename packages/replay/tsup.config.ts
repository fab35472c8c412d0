import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', 'vitest/index': 'src/vitest/index.ts' },
  external: ['vitest'],
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'node20',
});
