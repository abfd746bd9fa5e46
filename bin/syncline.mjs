#!/usr/bin/env node
// Runs the bundled runtime (dist/runtime, built by `npm install` and `npm run build`) while it matches the sources,
// and otherwise the TypeScript sources themselves through tsx, so a checkout being edited never runs stale code
// (bin/runtimeBundle.mjs). SYNCLINE_RUNTIME=source or =bundle asks for one of the two; a stale bundle is then an error.
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { bundleDir, bundleProblem } from './runtimeBundle.mjs';

const wanted = process.env.SYNCLINE_RUNTIME ?? 'auto';
const dir = process.env.SYNCLINE_RUNTIME_DIR ?? bundleDir;
const problem = wanted === 'source' ? null : bundleProblem(dir);
if (wanted === 'bundle' && problem !== null) {
  process.stderr.write(`syncline: SYNCLINE_RUNTIME=bundle, but ${problem}\n`);
  process.exit(2);
}
let main;
if (wanted !== 'source' && problem === null) {
  ({ main } = await import(pathToFileURL(join(dir, 'cli.mjs')).href));
} else {
  const { register } = await import('tsx/esm/api');
  register();
  ({ main } = await import('../runtime/cli.ts'));
}
process.exitCode = await main(process.argv.slice(2));
