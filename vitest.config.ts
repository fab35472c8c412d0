import { defineConfig } from 'vitest/config';

// Every package and example is its own project; tests import workspace packages through the
// "@custody/source" export condition, so they run against TypeScript source and never wait for a build.
export default defineConfig({
  test: {
    projects: ['packages/*/vitest.config.ts', 'examples/*/vitest.config.ts'],
  },
});
