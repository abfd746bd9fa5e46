#!/usr/bin/env node
// Builds dist/runtime (bin/runtimeBundle.mjs). Run by `npm install` and `npm run build`. A failed build leaves the
// sources to run through tsx, as in a checkout being edited, so it warns and never fails the install.
import { buildRuntime } from './runtimeBundle.mjs';

const strict = process.argv.includes('--strict');
try {
  const { outdir, sources } = await buildRuntime();
  console.log(`syncline: runtime built into ${outdir} (${sources} source files)`);
} catch (error) {
  console.warn(`syncline: the runtime was not built (${error instanceof Error ? error.message : String(error)}); it runs from its TypeScript sources instead`);
  if (strict) process.exitCode = 1;
}
