/**
 * Which files a connector may open (`ConnectorAccess.files`). Paths are compared as the operating system will open
 * them: symlinks resolved, `..` gone, and the runtime's own files recognised by identity, so no spelling of a path
 * (relative, absolute, through a link, a hard link) reaches outside the allowed folders or into the runtime's state.
 */
import { lstatSync, readlinkSync, realpathSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { AccessRefusedError, accessSettings, type FileAccess } from './access';

/** SQLite keeps these beside a database; they hold its data as much as the file does. */
const companionSuffixes = ['', '-wal', '-shm', '-journal'];

/**
 * The real path of the file `name` (relative to `baseDir`) when the policy lets a connector open it: the path to open,
 * so what was checked is what is opened. A missing file inside an allowed folder is returned too, for the caller to
 * report as not found; a refusal reads the same whether the file exists or not. `where` names the option, e.g.
 * `connection.file`.
 */
export function allowedFilePath(files: FileAccess, baseDir: string, name: string, where: string): string {
  const real = realPathOf(resolve(baseDir, name));
  const allowed = files.allowedDirs.map(realPathOf);
  if (!allowed.some((dir) => real === dir || real.startsWith(dir.endsWith(sep) ? dir : dir + sep))) {
    throw new AccessRefusedError(
      `${where}: "${name}" is outside the folders a flow may open (${files.allowedDirs.join(', ')}); to allow another folder, start Syncline with ${accessSettings.files.option} DIR (or add it to ${accessSettings.files.env})`,
    );
  }
  if (isRuntimeFile(files.runtimeFiles, real)) {
    throw new AccessRefusedError(`${where}: "${name}" is one of Syncline's own files (its state, webhook inbox, credential key or token), which no flow may open`);
  }
  return real;
}

function isRuntimeFile(runtimeFiles: readonly string[], real: string): boolean {
  const identity = fileIdentity(real);
  return runtimeFiles.some((file) => {
    const own = realPathOf(file);
    if (companionSuffixes.some((suffix) => real === own + suffix)) return true;
    // A hard link has a path of its own but is the same file.
    const ownIdentity = fileIdentity(own);
    return identity !== null && ownIdentity !== null && identity.dev === ownIdentity.dev && identity.ino === ownIdentity.ino;
  });
}

function fileIdentity(path: string): { dev: number; ino: number } | null {
  try {
    const stats = statSync(path);
    return { dev: stats.dev, ino: stats.ino };
  } catch {
    return null;
  }
}

/**
 * The path with every symlink resolved; for a path that does not exist (yet), its deepest existing folder resolved and
 * the rest appended, so a missing file is judged by where it would be created. A dangling symlink is followed to its
 * target: that is where a write through it would land.
 */
export function realPathOf(path: string): string {
  const missing: string[] = [];
  let current = resolve(path);
  for (let hops = 0; ; ) {
    try {
      return join(realpathSync(current), ...missing);
    } catch {
      const target = linkTarget(current);
      if (target !== null && hops++ < maxSymlinkHops) {
        current = resolve(dirname(current), target);
        continue;
      }
      const parent = dirname(current);
      if (parent === current) return join(current, ...missing);
      missing.unshift(basename(current));
      current = parent;
    }
  }
}

/** As the kernel gives up on a loop of links (ELOOP). */
const maxSymlinkHops = 40;

function linkTarget(path: string): string | null {
  try {
    return lstatSync(path).isSymbolicLink() ? readlinkSync(path) : null;
  } catch {
    return null;
  }
}
