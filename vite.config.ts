import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// One config for the editor bundle and for vitest, so both resolve modules the same way.
export default defineConfig({
  root: 'editor',
  plugins: [react()],
  // React Flow and the editor's forms make one chunk of about 700 kB; it is served from loopback, so no warning.
  build: { outDir: '../dist/editor', emptyOutDir: true, chunkSizeWarningLimit: 1500 },
  test: {
    root: '.',
    include: ['nodes/**/*.test.ts', 'runtime/**/*.test.ts', 'editor/**/*.test.{ts,tsx}', 'test/**/*.test.ts', 'bench/**/*.test.ts'],
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
