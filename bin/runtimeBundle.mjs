// The runtime bundled into dist/runtime, and whether that bundle still matches the sources.
//
// `syncline run --once` spent most of its start loading modules: the TypeScript sources through tsx's loader hooks,
// once on the main thread and again on the run's worker thread. Bundled (our code in a few files, code-split so the
// main thread loads only what a command needs, packages left to node_modules), a quiet `run --once` of a two-table
// SQLite flow took 0.63-0.76 s instead of 1.15-1.46 s, with 0.66-0.85 s of CPU instead of 1.56-2.08 s. Loading the
// packages was most of what remained (Kysely alone is some 400 small modules), so the pure-JavaScript ones are
// bundled too: 0.46-0.61 s against 0.87-0.88 s for the bundle without them, measured side by side on a busy machine.
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

/**
 * Packages left to node_modules: native code (better-sqlite3), optional native bindings a bundler cannot resolve
 * (pg's pg-native, and pg-boss over it), files loaded by path in worker threads (pino's transports), and the build
 * tools start.ts loads on demand. Every other package is bundled.
 */
const EXTERNAL = new Set(['better-sqlite3', 'pg', 'pg-boss', 'pino', 'vite', 'tsx', 'esbuild']);

/** The package a bare import names: `@scope/name` or `name`. */
function packageOf(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

const externalPackages = {
  name: 'syncline-external-packages',
  setup(build) {
    build.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('node:') || EXTERNAL.has(packageOf(args.path)) ? { external: true } : undefined));
  },
};

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
    plugins: [externalPackages],
    // CommonJS packages bundled into ES modules still call require() for Node's own modules.
    banner: { js: "import { createRequire as __synclineCreateRequire } from 'node:module'; const require = __synclineCreateRequire(import.meta.url);" },
    outdir: building,
    outExtension: { '.js': '.mjs' },
    metafile: true,
    logLevel: 'silent',
  });
  // The packages bundled change only through npm, which changes the lock file (and runs postinstall, which rebuilds).
  const ours = Object.keys(result.metafile.inputs).filter((path) => !path.startsWith('node_modules/'));
  // An installed copy may have no lock file: then only our sources are listed.
  const sources = [...ours, 'package-lock.json']
    .sort()
    .map((path) => ({ path, stamp: fingerprint(join(repository, path)) }))
    .filter(({ stamp }) => stamp !== null)
    .map(({ path, stamp }) => ({ path, ...stamp }));
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
