import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

/**
 * The server suites run a second time with the runtime's state in PostgreSQL (test/support/serverState.ts) wherever
 * one is at hand: when DATABASE_URL names it, and always under CI, where a missing one fails the run (requirements.ts).
 */
const serverSuitesOnPostgres = Boolean(process.env.DATABASE_URL) || process.env.CI === 'true' || process.env.CI === '1';

// One config for the editor bundle and for vitest, so both resolve modules the same way.
export default defineConfig({
  root: 'editor',
  plugins: [react()],
  // React Flow and the editor's forms make one chunk of about 700 kB; it is served from loopback, so no warning.
  build: { outDir: '../dist/editor', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: {
    root: '.',
    projects: [
      {
        extends: true,
        test: { name: 'syncline', include: ['nodes/**/*.test.ts', 'runtime/**/*.test.ts', 'editor/**/*.test.{ts,tsx}', 'test/**/*.test.ts', 'bench/**/*.test.ts'] },
      },
      ...(serverSuitesOnPostgres
        ? [
            {
              extends: true as const,
              test: {
                name: 'server-postgres',
                include: ['test/server/**/*.test.ts'],
                // On PostgreSQL by design, whatever the project: it runs once, in the first.
                exclude: ['test/server/state-on-postgres.test.ts'],
                env: { SYNCLINE_TEST_STATE: 'postgres' },
              },
            },
          ]
        : []),
    ],
    pool: 'forks',
    // CI reads the JSON report for its closing line; people read the default one.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    // Bounds for a test that hangs, not for a slow one: tests wait for conditions and events, never for a fixed time,
    // and on a busy machine (a second test run beside this one, on two cores) they take several times longer.
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
