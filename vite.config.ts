import { defineConfig } from 'vitest/config';
import react from '@vitejs/plugin-react';

// One config for the editor bundle and for vitest, so both resolve modules the same way.
export default defineConfig({
  root: 'editor',
  plugins: [react()],
  build: { outDir: '../dist/editor', emptyOutDir: true },
  test: {
    root: '.',
    include: ['nodes/**/*.test.ts', 'runtime/**/*.test.ts', 'editor/**/*.test.{ts,tsx}', 'test/**/*.test.ts'],
    pool: 'forks',
    // CI reads the JSON report for its closing line; people read the default one.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest-results.json' },
    testTimeout: 30_000,
    hookTimeout: 60_000,
  },
});
