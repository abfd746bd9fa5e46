import { existsSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createPrivateFolder, ensurePrivateFile } from '../credentials/privateFiles';
import { installDemoIfFirstStart } from '../demo/install';
import { repositoryRoot } from '../repository';
import { DEFAULT_PORT, describeStartError, editorDistDir, parseServeArgs, serveUsage, startServer, stopOnSignal, type RunningServer } from './serve';

const startUsage =
  'usage: syncline start [--port N] [--data DIR] [serve\'s other options]\n' +
  '  Serves the editor and the API like serve, installing the demo on a data folder\'s first start.\n' +
  '  Another port or data folder, from a checkout: npm start -- --port 8080 --data ~/syncline-data\n' +
  serveUsage.slice(serveUsage.indexOf('\n') + 1);

/** The newest modification time of a source file under `folder` (the editor bundles code from nodes/ and runtime/). */
function newestSource(folder: string): number {
  let newest = 0;
  for (const entry of readdirSync(folder, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const path = join(folder, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(path));
    else if (/\.(tsx?|css|html)$/.test(entry.name)) newest = Math.max(newest, statSync(path).mtimeMs);
  }
  return newest;
}

/**
 * Builds the editor with vite's JS API when dist/editor has no index.html, or when its sources changed since (an
 * updated checkout would otherwise serve the old editor against the new runtime); false when the build failed.
 */
async function buildEditorIfMissing(): Promise<boolean> {
  const index = join(editorDistDir, 'index.html');
  const built = existsSync(index) ? statSync(index).mtimeMs : null;
  if (built !== null && ['editor', 'nodes', 'runtime'].every((folder) => newestSource(join(repositoryRoot, folder)) <= built)) return true;
  process.stdout.write(built === null ? 'Building the editor (first start only)...\n' : 'Building the editor (its sources changed since the last build)...\n');
  try {
    const { build } = await import('vite');
    await build({ configFile: join(repositoryRoot, 'vite.config.ts'), root: join(repositoryRoot, 'editor'), logLevel: 'warn' });
    return true;
  } catch (error) {
    process.stderr.write(`The editor could not be built (${error instanceof Error ? error.message : String(error)}); the API runs without it.\n`);
    return false;
  }
}

/**
 * `syncline start` (`npm start`): builds the editor if needed, serves on ./.syncline, and on first start installs
 * the demo (two SQLite databases and the leads flow, deployed).
 */
export async function startCommand(args: string[]): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    process.stdout.write(`${startUsage}\n`);
    return 0;
  }
  const options = parseServeArgs(args, { dataDir: resolve('.syncline') });
  if (typeof options === 'string') {
    process.stderr.write(`syncline start: ${options}\n${startUsage}\n`);
    return 2;
  }
  await buildEditorIfMissing();
  let installed = false;
  const logFile = join(options.dataDir, 'syncline.log');
  // The log names flows, records and systems: private like the rest of the data folder.
  createPrivateFolder(options.dataDir);
  ensurePrivateFile(logFile);
  const hooks = {
    logFile,
    beforeStart: async (runtime: Parameters<typeof installDemoIfFirstStart>[0], logger: Parameters<typeof installDemoIfFirstStart>[2]) => {
      installed = await installDemoIfFirstStart(runtime, options.dataDir, logger);
    },
  };
  let server: RunningServer;
  try {
    server = await startServer(options, hooks);
  } catch (error) {
    // The default port taken (another Syncline, say): a free one is better than no start at all.
    if ((error as NodeJS.ErrnoException).code === 'EADDRINUSE' && options.port === DEFAULT_PORT && !args.includes('--port')) {
      server = await startServer({ ...options, port: 0 }, hooks);
    } else {
      process.stderr.write(`syncline start: ${describeStartError(error, options)}\n`);
      return 1;
    }
  }
  const lines = [
    '',
    `Syncline is running: ${server.url}?token=${server.token}`,
    `Open that address in a browser. Data folder: ${options.dataDir} (log: ${logFile})`,
    installed
      ? 'The demo is installed: the "leads" flow syncs crm.db and marketing.db every 5 seconds; one conflict waits in the inbox.'
      : '',
    'Stop with Ctrl+C.',
    '',
  ];
  process.stdout.write(lines.filter((line, index) => line !== '' || index === 0 || index === lines.length - 1).join('\n'));
  await stopOnSignal(server);
  return 0;
}
