import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['**/test/**/*.test.ts'],
    exclude: ['**/node_modules/**', '**/dist/**'],
    // The plugin loader resolves package specifiers itself (see kernel/node/src/resolve.ts);
    // this tells it to pick the `development` (source) entry, as vitest does for static imports.
    env: { ECHOSTREAM_CONDITIONS: 'development' },
    testTimeout: 30_000,
    hookTimeout: 30_000,
    pool: 'forks',
  },
})
