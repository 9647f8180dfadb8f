import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

export default defineConfig({
  resolve: {
    // Tests run against the TypeScript sources of sibling packages, not their builds.
    alias: [
      { find: /^@switchyard\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
      // Subpath exports (`@switchyard/sdk-node/openfeature`) live in a folder of the same name.
      { find: /^@switchyard\/([a-z-]+)\/([a-z-]+)$/, replacement: `${packages}$1/src/$2/index.ts` },
    ],
  },
  test: {
    include: ['packages/*/src/**/*.test.ts', 'test/**/*.test.ts'],
    environment: 'node',
    globalSetup: ['test/global-setup.ts'],
    // Server tests start real servers on real databases; the 5 s default is for pure code.
    testTimeout: 20_000,
    hookTimeout: 60_000,
  },
});
