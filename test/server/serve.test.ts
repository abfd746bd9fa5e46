// Options, the token and the data folder's files and modes: what serve does with its data folder whatever the state,
// so these run on the data folder's SQLite state in both projects (state-on-postgres.test.ts checks the folder with a
// state in PostgreSQL).
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { requireToken } from '../../runtime/api/auth';
import { DEFAULT_PORT, loadOrCreateToken, parseServeArgs, serveAccess, serveCommand, startServer, type ServeOptions } from '../../runtime/commands/serve';
import { openInboxDb } from '../../runtime/db/inbox';
import { openStateDb } from '../../runtime/db/index';
import { TOKEN } from './support';

const saved = { token: process.env.SYNCLINE_TOKEN, logLevel: process.env.SYNCLINE_LOG_LEVEL };
const scratch: string[] = [];
// The servers started here log nothing: a log file would be opened in the background, after the test may have
// removed its folder.
beforeEach(() => {
  process.env.SYNCLINE_LOG_LEVEL = 'silent';
});
afterEach(() => {
  for (const [name, value] of [['SYNCLINE_TOKEN', saved.token], ['SYNCLINE_LOG_LEVEL', saved.logLevel]] as const) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  vi.restoreAllMocks();
  for (const dir of scratch.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function scratchDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'syncline-serve-'));
  scratch.push(dir);
  return dir;
}

const permissions = (path: string) => statSync(path).mode & 0o777;

/** `serve --port 0 --data DIR`, as the command line would parse it. */
function serveOptions(dataDir: string): ServeOptions {
  const options = parseServeArgs(['--port', '0', '--data', dataDir]);
  if (typeof options === 'string') throw new Error(options);
  return options;
}

describe('syncline serve options', () => {
  it('defaults to loopback, port 4777 and ./.syncline', () => {
    expect(parseServeArgs([])).toEqual({ port: DEFAULT_PORT, dataDir: resolve('.syncline'), host: '127.0.0.1', metricsPublic: false, corsOrigins: [], allowFiles: [], allowHosts: [], publicUrl: null });
    expect(parseServeArgs(['--port', '0', '--data', 'x', '--host', '0.0.0.0', '--metrics-public', '--cors-origin', 'http://localhost:5173'])).toEqual({
      port: 0,
      dataDir: resolve('x'),
      host: '0.0.0.0',
      metricsPublic: true,
      corsOrigins: ['http://localhost:5173'],
      allowFiles: [],
      allowHosts: [],
      publicUrl: null,
    });
    expect(parseServeArgs(['--public-url', 'https://sync.example.com'])).toMatchObject({ publicUrl: 'https://sync.example.com' });
    expect(parseServeArgs(['--public-url', 'sync.example.com'])).toMatch(/--public-url must be the address systems reach this runtime at/);
  });

  it('lets flows reach the data folder only, unless --allow-files, --allow-hosts or the environment say more', () => {
    const strict = parseServeArgs(['--data', 'x']);
    if (typeof strict === 'string') throw new Error(strict);
    expect(serveAccess(strict, {})).toEqual({
      files: { allowedDirs: [resolve('x')], runtimeFiles: ['state.db', 'webhooks.db', 'credentials.key', 'token'].map((name) => resolve('x', name)) },
      hosts: { allowed: [] },
    });
    const options = parseServeArgs(['--data', 'x', '--allow-files', 'shared', '--allow-hosts', '127.0.0.1:3000,localhost', '--allow-files', '/srv/dbs', '--allow-hosts', '10.0.0.0/8']);
    if (typeof options === 'string') throw new Error(options);
    expect(serveAccess(options, { SYNCLINE_ALLOW_FILES: `/mnt/a${delimiter}/mnt/b`, SYNCLINE_ALLOW_HOSTS: 'db.internal' })).toMatchObject({
      files: { allowedDirs: [resolve('x'), resolve('shared'), '/srv/dbs', '/mnt/a', '/mnt/b'] },
      hosts: { allowed: ['127.0.0.1:3000', 'localhost', '10.0.0.0/8', 'db.internal'] },
    });
    expect(parseServeArgs(['--allow-hosts', '169.254.169.254'])).toMatch(/allowed host "169\.254\.169\.254": .*never be allowed/);
    expect(parseServeArgs(['--allow-files'])).toMatch(/--allow-files needs a value/);
    expect(serveAccess(strict, { SYNCLINE_ALLOW_HOSTS: 'fd00:ec2::254' })).toMatch(/never be allowed/);
  });

  it('says what is wrong with bad options', () => {
    expect(parseServeArgs(['--port', 'abc'])).toMatch(/--port/);
    expect(parseServeArgs(['--port', '70000'])).toMatch(/65535/);
    expect(parseServeArgs(['--data'])).toMatch(/needs a value/);
    expect(parseServeArgs(['--cors-origin', 'localhost'])).toMatch(/origin/);
    expect(parseServeArgs(['--verbose'])).toMatch(/unknown option --verbose/);
  });

  it('takes the token from SYNCLINE_TOKEN, else from the data folder, creating it there once (0600)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'syncline-token-'));
    delete process.env.SYNCLINE_TOKEN;
    const first = loadOrCreateToken(dir);
    expect(first).toMatchObject({ created: true, fromEnv: false });
    expect(first.token.length).toBeGreaterThanOrEqual(32);
    expect(statSync(join(dir, 'token')).mode & 0o777).toBe(0o600);
    expect(readFileSync(join(dir, 'token'), 'utf8').trim()).toBe(first.token);
    expect(loadOrCreateToken(dir)).toEqual({ token: first.token, created: false, fromEnv: false });
    process.env.SYNCLINE_TOKEN = 'from-env-0123456789';
    expect(loadOrCreateToken(dir)).toEqual({ token: 'from-env-0123456789', created: false, fromEnv: true });
  });

  it('refuses a token under 16 characters, or with a space, saying why, before it opens anything', async () => {
    const dir = scratchDir();
    for (const [token, problem] of [
      ['x', 'SYNCLINE_TOKEN is 1 character long; an API token needs at least 16'],
      ['0123456789abcde', 'SYNCLINE_TOKEN is 15 characters long; an API token needs at least 16'],
      ['correct horse battery staple', 'SYNCLINE_TOKEN contains a space'],
    ] as const) {
      process.env.SYNCLINE_TOKEN = token;
      expect(() => loadOrCreateToken(dir)).toThrow(problem);
    }
    process.env.SYNCLINE_TOKEN = '0123456789abcdef';
    expect(loadOrCreateToken(dir).token).toBe('0123456789abcdef');

    // A stored token written by hand is held to the same rule.
    delete process.env.SYNCLINE_TOKEN;
    writeFileSync(join(dir, 'token'), 'short\n', { mode: 0o600 });
    expect(() => loadOrCreateToken(dir)).toThrow(`the token stored in ${join(dir, 'token')} is 5 characters long`);

    // `syncline serve` says so on stderr and exits 1, with no state opened.
    const dataDir = join(scratchDir(), 'data');
    process.env.SYNCLINE_TOKEN = 'x';
    let stderr = '';
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
    expect(await serveCommand(['--port', '0', '--data', dataDir])).toBe(1);
    expect(stderr).toMatch(/^syncline serve: SYNCLINE_TOKEN is 1 character long; an API token needs at least 16, so that it cannot be guessed: use a longer one/);
    expect(existsSync(join(dataDir, 'state.db'))).toBe(false);

    // And the app refuses to be built on such a token, however it was given.
    expect(() => requireToken('short')).toThrow(/at least 16/);
  });

  it('keeps the data folder (0700) and its files (0600) to their owner, and tightens files an older version left open', async () => {
    const dataDir = join(scratchDir(), 'data');
    delete process.env.SYNCLINE_TOKEN;
    const options = serveOptions(dataDir);
    const files = ['state.db', 'state.db-wal', 'state.db-shm', 'webhooks.db', 'webhooks.db-wal', 'webhooks.db-shm', 'credentials.key', 'token'];
    const modes = () => Object.fromEntries(files.map((name) => [name, existsSync(join(dataDir, name)) ? permissions(join(dataDir, name)) : 'missing']));

    vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let server = await startServer(options);
    try {
      expect(permissions(dataDir)).toBe(0o700);
      // While the databases are open their -wal and -shm files exist; SQLite gives them the database's mode.
      expect(modes()).toEqual(Object.fromEntries(files.map((name) => [name, 0o600])));
    } finally {
      await server.stop();
    }

    // Files an earlier version created readable by everyone are made private on the next start.
    for (const name of ['state.db', 'webhooks.db', 'credentials.key']) chmodSync(join(dataDir, name), 0o644);
    server = await startServer(options);
    try {
      expect(modes()).toEqual(Object.fromEntries(files.map((name) => [name, 0o600])));
    } finally {
      await server.stop();
    }

    // `syncline run --once` opens its state the same way, creating its folder if need be.
    const runFolder = join(scratchDir(), 'nested', '.syncline');
    const state = await openStateDb(join(runFolder, 'state.db'));
    const inbox = await openInboxDb(join(runFolder, 'webhooks.db'));
    try {
      expect(permissions(runFolder)).toBe(0o700);
      for (const name of ['state.db', 'state.db-wal', 'state.db-shm', 'webhooks.db', 'webhooks.db-wal', 'webhooks.db-shm']) expect(permissions(join(runFolder, name)), name).toBe(0o600);
    } finally {
      await inbox.destroy();
      await state.destroy();
    }
  });

  it('starts on a token of exactly 16 characters', async () => {
    process.env.SYNCLINE_TOKEN = TOKEN.slice(0, 16);
    const server = await startServer(serveOptions(scratchDir()));
    try {
      expect(server.token).toBe(TOKEN.slice(0, 16));
      expect((await fetch(new URL('/api/flows', server.url), { headers: { authorization: `Bearer ${server.token}` } })).status).toBe(200);
    } finally {
      await server.stop();
    }
  });
});
