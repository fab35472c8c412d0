// Resolve workspace packages to their TypeScript source in tests (see each package's exports map),
// keeping Vite's default server conditions after ours.
const conditions = ['@custody/source', 'node', 'development|production'];

export const sourceConditions = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
};
