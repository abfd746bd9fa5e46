// The runtime bundled into dist/runtime, and whether that bundle still matches the sources.
//
// `syncline run --once` spent most of its start loading modules: the TypeScript sources through tsx's loader hooks,
// once on the main thread and again on the run's worker thread. Bundled (our code in a few files, code-split so the
// main thread loads only what a command needs, packages left to node_modules), a quiet `run --once` of a two-table
// SQLite flow took 0.63-0.76 s instead of 1.15-1.46 s, with 0.66-0.85 s of CPU instead of 1.56-2.08 s.
//
// The bundle is run only while every source file it was built from is exactly as it was then (size and modification
// time, listed in its manifest), so a checkout being edited never runs stale code: bin/syncline.mjs falls back to
// the sources themselves.
import { mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const repository = fileURLToPath(new URL('../', import.meta.url));

/** Where `npm install` and `npm run build` put the bundle. */
export const bundleDir = join(repository, 'dist', 'runtime');

/**
 * Entry points, named as the sources find their worker threads: `new URL('./runWorker.mjs', import.meta.url)` is the
 * tsx bootstrap beside the sources, and in the bundle the worker itself, beside the chunk that starts it.
 */
const entryPoints = {
  cli: 'runtime/cli.ts',
  runWorker: 'runtime/commands/runWorker.ts',
  passWorker: 'runtime/passes/passWorker.ts',
};

const MANIFEST = 'manifest.json';

/** Builds the bundle into `outdir` (replacing what was there), with a manifest of the source files it holds. */
export async function buildRuntime(outdir = bundleDir) {
  const { build } = await import('esbuild');
  const building = `${outdir}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const result = await build({
    absWorkingDir: repository,
    entryPoints: Object.fromEntries(Object.entries(entryPoints).map(([name, path]) => [name, join(repository, path)])),
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    packages: 'external',
    outdir: building,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    logLevel: 'silent',
  });
  const sources = Object.keys(result.metafile.inputs).sort().map((path) => ({ path, ...fingerprint(join(repository, path)) }));
  writeFileSync(join(building, MANIFEST), `${JSON.stringify({ builtAt: new Date().toISOString(), sources })}\n`);
  mkdirSync(dirname(outdir), { recursive: true });
  rmSync(outdir, { recursive: true, force: true });
  renameSync(building, outdir);
  return { outdir, sources: sources.length };
}

/** Null when the bundle in `dir` may run; otherwise why not, for a person who asked for it. */
export function bundleProblem(dir = bundleDir) {
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(join(dir, MANIFEST), 'utf8'));
  } catch {
    return `${dir} holds no built runtime (npm run build makes it)`;
  }
  for (const source of manifest.sources ?? []) {
    const now = fingerprint(join(repository, source.path));
    if (now === null || now.size !== source.size || now.mtimeMs !== source.mtimeMs) return `${source.path} changed since the runtime in ${dir} was built (npm run build builds it again)`;
  }
  return null;
}

function fingerprint(path) {
  try {
    const stat = statSync(path);
    return { size: stat.size, mtimeMs: stat.mtimeMs };
  } catch {
    return null;
  }
}
