import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRefusedError } from '../connectors/access';
import { alertSenderFor, alertUrlRefusal, type AlertNotice } from './alerts';

const notice: AlertNotice = { kind: 'pass_failed', flowId: 'leads', runId: 'r1', message: 'a pass failed', summary: null, at: '2026-01-01T00:00:00.000Z' };

let receiver: Server;
let url: string;
const received: string[] = [];
beforeAll(async () => {
  receiver = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      received.push(body);
      response.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/alerts`;
});
afterAll(async () => {
  receiver.closeAllConnections();
  await new Promise((resolve) => receiver.close(resolve));
});

describe('alert delivery', () => {
  it('does not post to a loopback address (the runtime’s own API among them) unless the operator allowed it', async () => {
    await expect(alertSenderFor({ allowed: [] })(url, notice)).rejects.toBeInstanceOf(AccessRefusedError);
    await expect(alertSenderFor({ allowed: [] })(url.replace('127.0.0.1', 'localhost'), notice)).rejects.toThrow(/--allow-hosts/);
    expect(received).toEqual([]);
    await alertSenderFor({ allowed: ['127.0.0.1'] })(url, notice);
    expect(received.map((body) => JSON.parse(body))).toEqual([notice]);
  });

  it('never posts to the cloud metadata address', async () => {
    await expect(alertSenderFor({ allowed: ['private'] })('http://169.254.169.254/latest/api/token', notice)).rejects.toThrow(/cloud metadata/);
  });
});

describe('an alert URL as it is set', () => {
  it('is refused for the hosts every delivery would be refused, by address or by the addresses its name resolves to', async () => {
    await expect(alertUrlRefusal({ allowed: [] }, 'http://10.1.2.3/hook')).resolves.toBeInstanceOf(AccessRefusedError);
    expect(await alertUrlRefusal({ allowed: ['10.1.2.3'] }, 'http://10.1.2.3/hook')).toBeNull();
    expect((await alertUrlRefusal({ allowed: [] }, 'http://localhost:8080/hook'))?.message).toMatch(/^localhost:8080: the name resolves to a loopback or private address.*--allow-hosts localhost:8080/);
    expect(await alertUrlRefusal({ allowed: ['localhost:8080'] }, 'http://localhost:8080/hook')).toBeNull();
    expect((await alertUrlRefusal({ allowed: ['private'] }, 'http://169.254.169.254/latest/meta-data'))?.message).toMatch(/cloud metadata/);
    expect((await alertUrlRefusal({ allowed: [] }, 'https://[::ffff:7f00:1]/hook'))?.message).toMatch(/^127\.0\.0\.1:443: /);
    expect(await alertUrlRefusal({ allowed: [] }, 'https://203.0.114.7/hook')).toBeNull();
  });
});
