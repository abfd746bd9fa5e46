import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_PORT, loadOrCreateToken, parseServeArgs } from '../../runtime/commands/serve';

const savedToken = process.env.SYNCLINE_TOKEN;
afterEach(() => {
  if (savedToken === undefined) delete process.env.SYNCLINE_TOKEN;
  else process.env.SYNCLINE_TOKEN = savedToken;
});

describe('syncline serve options', () => {
  it('defaults to loopback, port 4777 and ./.syncline', () => {
    expect(parseServeArgs([])).toEqual({ port: DEFAULT_PORT, dataDir: resolve('.syncline'), host: '127.0.0.1', metricsPublic: false, corsOrigins: [] });
    expect(parseServeArgs(['--port', '0', '--data', 'x', '--host', '0.0.0.0', '--metrics-public', '--cors-origin', 'http://localhost:5173'])).toEqual({
      port: 0,
      dataDir: resolve('x'),
      host: '0.0.0.0',
      metricsPublic: true,
      corsOrigins: ['http://localhost:5173'],
    });
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
    process.env.SYNCLINE_TOKEN = 'from-env';
    expect(loadOrCreateToken(dir)).toEqual({ token: 'from-env', created: false, fromEnv: true });
  });
});
