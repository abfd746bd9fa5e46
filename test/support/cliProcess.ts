/**
 * The `syncline` command line run as a person runs it: a child process of bin/syncline.mjs, for tests of what only a
 * whole process shows (a kill, a restart, two processes at once).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { join } from 'node:path';

export const repository = join(import.meta.dirname, '..', '..');

/** How long a start may take on a busy machine before the test gives up on it (tsx compiles the runtime first). */
export const START_TIMEOUT_MS = 120_000;

export interface ServeProcess {
  child: ChildProcessWithoutNullStreams;
  base: string;
  token: string;
  /** Everything it printed, stdout and stderr. */
  output: string[];
}

/**
 * Starts `syncline serve --port 0 ARGS` and resolves once it prints where it listens; rejects with its output when it
 * exits first. `children` collects it, for the file's afterAll to end.
 */
export function startServeProcess(args: string[], env: Record<string, string>, children: ChildProcessWithoutNullStreams[]): Promise<ServeProcess> {
  const child = spawn(process.execPath, [join(repository, 'bin', 'syncline.mjs'), 'serve', '--port', '0', ...args], {
    cwd: repository,
    env: { ...process.env, SYNCLINE_TOKEN: '', SYNCLINE_LOG_LEVEL: 'info', ...env },
  });
  children.push(child);
  const output: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no address printed:\n${output.join('')}`)), START_TIMEOUT_MS);
    child.stderr.on('data', (chunk: Buffer) => output.push(chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      output.push(chunk.toString());
      const match = /Syncline is running: (http:\/\/127\.0\.0\.1:\d+)\/\?token=(\S+)/.exec(output.join(''));
      if (match) {
        clearTimeout(timer);
        resolve({ child, base: match[1]!, token: match[2]!, output });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output.join('')}`));
    });
  });
}

/** Resolves with the exit code once the process has exited (at once if it has). */
export function exited(child: ChildProcessWithoutNullStreams): Promise<number | null> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(child.exitCode) : child.once('exit', (code) => resolve(code))));
}

/** Runs one `syncline` command to its end: exit code, stdout and stderr. */
export function runCli(args: string[], options: { env?: Record<string, string>; input?: string; cwd?: string } = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [join(repository, 'bin', 'syncline.mjs'), ...args], {
    cwd: options.cwd ?? repository,
    env: { ...process.env, ...options.env },
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin.end(options.input ?? '');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}
