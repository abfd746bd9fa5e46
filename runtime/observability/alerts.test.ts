import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AccessRefusedError } from '../connectors/access';
import { alertSenderFor, type AlertNotice } from './alerts';

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
