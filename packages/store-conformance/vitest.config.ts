import { defineProject } from 'vitest/config';
import { sourceConditions } from '../../vitest.shared.ts';

export default defineProject({
  ...sourceConditions,
  test: { name: '@custody/store-conformance', include: ['src/**/*.test.ts', 'test/**/*.test.ts'] },
});
