import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The Syncline checkout or package this runtime runs from: the nearest folder up from this module whose package.json
 * is Syncline's. The runtime runs from its TypeScript sources (runtime/…) or from the bundle (dist/runtime/…, see
 * bin/runtimeBundle.mjs), and no fixed number of `..` fits both.
 */
export const repositoryRoot = findRepositoryRoot(dirname(fileURLToPath(import.meta.url)));

/** A path inside the checkout: `repositoryPath('dist', 'editor')`. */
export function repositoryPath(...parts: string[]): string {
  return join(repositoryRoot, ...parts);
}

function findRepositoryRoot(from: string): string {
  for (let folder = from; ; folder = dirname(folder)) {
    const manifest = join(folder, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: unknown }).name === 'syncline') return folder;
    if (dirname(folder) === folder) throw new Error(`no Syncline package.json in any folder above ${from}`);
  }
}
