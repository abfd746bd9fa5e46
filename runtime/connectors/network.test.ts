import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRefusedError, buildConnectorAccess } from './access';
import { accessRefusalOf, classifyAddress, guardedFetch, HostPolicy, parseAllowedHost } from './network';

let server: Server;
let port: number;
/** A second server that the first redirects to. */
let other: Server;
let otherPort: number;

beforeAll(async () => {
  other = createServer((_request, response) => response.end('other'));
  await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve));
  otherPort = (other.address() as AddressInfo).port;
  server = createServer((request, response) => {
    if (request.url === '/redirect') {
      response.writeHead(302, { location: `http://127.0.0.1:${otherPort}/` });
      response.end();
      return;
    }
    response.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  for (const each of [server, other]) {
    each.closeAllConnections();
    await new Promise((resolve) => each.close(resolve));
  }
});

/** What a guarded fetch got: the body, or the policy's refusal. */
async function fetchWith(allowed: string[], url: string, init: RequestInit = {}): Promise<string | AccessRefusedError> {
  try {
    return await (await guardedFetch({ allowed })(url, init)).text();
  } catch (error) {
    const refusal = accessRefusalOf(error);
    if (refusal) return refusal;
    throw error;
  }
}

describe('address classes', () => {
  it('never allows link-local and metadata addresses, in any spelling', () => {
    for (const address of ['169.254.169.254', '169.254.0.1', '::ffff:169.254.169.254', '::ffff:a9fe:a9fe', 'fe80::1', 'fd00:ec2::254', '64:ff9b::a9fe:a9fe', '2002:a9fe:a9fe::1', '0.0.0.0', '::', '224.0.0.1']) {
      expect(classifyAddress(address), address).toBe('forbidden');
    }
  });

  it('counts loopback, private and special-purpose ranges as internal, the rest as public', () => {
    for (const address of ['127.0.0.1', '127.1.2.3', '::1', '::ffff:127.0.0.1', '10.1.2.3', '172.16.0.1', '192.168.1.1', '100.64.0.1', 'fd12::1', '64:ff9b::7f00:1', '192.0.0.192']) {
      expect(classifyAddress(address), address).toBe('internal');
    }
    for (const address of ['8.8.8.8', '2606:4700::1111', '64:ff9b::808:808']) expect(classifyAddress(address), address).toBe('public');
  });

  it('reads allow entries, and refuses ones that could never be allowed', () => {
    expect(parseAllowedHost('localhost:8080')).toEqual({ kind: 'name', name: 'localhost', port: 8080 });
    expect(parseAllowedHost('[::1]:8080')).toEqual({ kind: 'address', address: '0:0:0:0:0:0:0:1', port: 8080 });
    expect(parseAllowedHost('private')).toEqual({ kind: 'private' });
    expect(parseAllowedHost('10.0.0.0/8')).toMatchObject({ kind: 'range' });
    expect(parseAllowedHost('169.254.169.254')).toMatch(/never be allowed/);
    expect(parseAllowedHost('localhost:99999')).toMatch(/port/);
    expect(parseAllowedHost('no spaces')).toMatch(/must be/);
    expect(buildConnectorAccess({ defaultDirs: ['/data'], runtimeFiles: [], allowHosts: ['127.0.0.1,fd00:ec2::254'] })).toMatch(/allowed host "fd00:ec2::254"/);
    expect(buildConnectorAccess({ defaultDirs: ['/data'], runtimeFiles: [], env: { SYNCLINE_ALLOW_HOSTS: 'db.internal, 10.0.0.0/8' } })).toMatchObject({
      hosts: { allowed: ['db.internal', '10.0.0.0/8'] },
    });
  });

  it('matches an allowed host by name, address, port and range', () => {
    const policy = new HostPolicy({ allowed: ['localhost:8080', '10.0.0.0/8', '192.168.1.5'] });
    expect(policy.refusal('localhost', 8080, '127.0.0.1')).toBeNull();
    expect(policy.refusal('localhost', 8081, '127.0.0.1')).toBeInstanceOf(AccessRefusedError);
    expect(policy.refusal('127.0.0.1', 8080, '127.0.0.1')).toBeInstanceOf(AccessRefusedError);
    expect(policy.refusal('db.internal', 5432, '10.9.8.7')).toBeNull();
    expect(policy.refusal('192.168.1.5', 80, '::ffff:192.168.1.5')).toBeNull();
    expect(policy.refusal('api.example.com', 443, '93.184.216.34')).toBeNull();
    // A name the operator allowed still never reaches a metadata address.
    expect(policy.refusal('localhost', 8080, '169.254.169.254')?.message).toMatch(/link-local, cloud metadata/);
  });
});

describe('guarded fetch', () => {
  it('refuses loopback by address, by name and by every numeric spelling, naming the setting', async () => {
    for (const host of ['127.0.0.1', 'localhost', '2130706433', '0x7f.1', '[::ffff:127.0.0.1]', '127.1']) {
      const result = await fetchWith([], `http://${host}:${port}/`);
      expect(result, host).toBeInstanceOf(AccessRefusedError);
      expect((result as Error).message).toContain('--allow-hosts');
      expect((result as Error).message).toContain('SYNCLINE_ALLOW_HOSTS');
    }
    expect(((await fetchWith([], `http://localhost:${port}/`)) as Error).message).toMatch(/^localhost:\d+: the name resolves to a loopback or private address/);
  });

  it('connects where the operator allowed: by name, by address (whatever its spelling), by port', async () => {
    expect(await fetchWith(['localhost'], `http://localhost:${port}/`)).toBe('ok');
    expect(await fetchWith([`127.0.0.1:${port}`], `http://2130706433:${port}/`)).toBe('ok');
    expect(await fetchWith(['private'], `http://[::ffff:127.0.0.1]:${port}/`)).toBe('ok');
    // Allowing the name does not allow the address under another name, nor another port.
    expect(await fetchWith(['localhost'], `http://127.0.0.1:${port}/`)).toBeInstanceOf(AccessRefusedError);
    expect(await fetchWith([`127.0.0.1:${otherPort}`], `http://127.0.0.1:${port}/`)).toBeInstanceOf(AccessRefusedError);
  });

  it('refuses link-local and metadata addresses even when every private host is allowed', async () => {
    for (const url of ['http://169.254.169.254/latest/meta-data/', 'http://[::ffff:169.254.169.254]/', 'http://[fd00:ec2::254]/', 'http://2852039166/', 'http://0.0.0.0:80/']) {
      const result = await fetchWith(['private'], url);
      expect(result, url).toBeInstanceOf(AccessRefusedError);
      expect((result as Error).message, url).toMatch(/link-local, cloud metadata, unspecified or multicast address, which Syncline never connects to/);
    }
  });

  it('checks where a redirect leads at the connection too', async () => {
    expect(await fetchWith([`127.0.0.1:${port}`, `127.0.0.1:${otherPort}`], `http://127.0.0.1:${port}/redirect`)).toBe('other');
    expect(await fetchWith([`127.0.0.1:${port}`], `http://127.0.0.1:${port}/redirect`)).toBeInstanceOf(AccessRefusedError);
  });
});
