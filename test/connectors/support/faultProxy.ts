import { createServer, request as forward, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { seededRandom } from '../../../runtime/seededRandom';

/** What the proxy does to the requests it receives. */
export type ProxyMode =
  /** Forward everything untouched. */
  | { kind: 'pass' }
  /** Answer a share of requests with 500 or 429 (with Retry-After), and let a bounded few hang past the client's timeout. */
  | { kind: 'faults'; seed: number; failureRate: number; maxHangs: number; hangMs: number; retryAfterSeconds: readonly number[] }
  /** Answer every request with this, as a misconfigured gateway or the wrong base URL would. */
  | { kind: 'answer'; status: number; contentType: string; body: string }
  /** Forward only requests with this Authorization header; 401 for the others. */
  | { kind: 'auth'; authorization: string };

export interface FaultStats {
  requests: number;
  forwarded: number;
  status500: number;
  status429: number;
  /** Held without ever reaching json-server. */
  hungBefore: number;
  /** Reached json-server (and did their work), but the answer was held back. */
  hungAfter: number;
  /** Each fault as `<kind> <method> <path>`, in order, to see what a seed does. */
  log: string[];
}

export interface FaultProxy {
  url: string;
  stats: FaultStats;
  setMode(mode: ProxyMode): void;
  stop(): Promise<void>;
}

const hopByHop = new Set(['connection', 'keep-alive', 'transfer-encoding', 'content-length']);

/**
 * A small HTTP proxy on loopback in front of json-server, standing in for the unreliable network and gateways between
 * Syncline and a SaaS API. Faults are decided by a seeded generator in the order requests arrive.
 */
export async function startFaultProxy(target: string, initial: ProxyMode): Promise<FaultProxy> {
  const targetUrl = new URL(target);
  const stats: FaultStats = { requests: 0, forwarded: 0, status500: 0, status429: 0, hungBefore: 0, hungAfter: 0, log: [] };
  let mode = initial;
  let random = mode.kind === 'faults' ? seededRandom(mode.seed) : Math.random;
  let hangs = 0;
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, run: () => void): void => {
    const timer = setTimeout(() => {
      timers.delete(timer);
      run();
    }, ms);
    timers.add(timer);
  };

  const relay = (incoming: IncomingMessage, body: Buffer, deliver: (status: number, headers: Record<string, string | string[]>, payload: Buffer) => void): void => {
    stats.forwarded++;
    const outgoing = forward(
      { host: targetUrl.hostname, port: targetUrl.port, method: incoming.method, path: incoming.url, headers: { ...incoming.headers, connection: 'close' } },
      (response) => {
        const chunks: Buffer[] = [];
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('end', () => {
          const headers: Record<string, string | string[]> = {};
          for (const [name, value] of Object.entries(response.headers)) if (value !== undefined && !hopByHop.has(name)) headers[name] = value;
          deliver(response.statusCode ?? 502, headers, Buffer.concat(chunks));
        });
      },
    );
    outgoing.on('error', () => deliver(502, { 'content-type': 'text/plain' }, Buffer.from('proxy: json-server unreachable')));
    outgoing.end(body);
  };

  const send = (response: ServerResponse) => (status: number, headers: Record<string, string | string[]>, payload: Buffer) => {
    if (response.destroyed || response.writableEnded) return;
    response.writeHead(status, { ...headers, 'content-length': String(payload.length) });
    response.end(payload);
  };

  const server = createServer((incoming, response) => {
    const chunks: Buffer[] = [];
    incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
    incoming.on('end', () => {
      stats.requests++;
      const body = Buffer.concat(chunks);
      const current = mode;
      switch (current.kind) {
        case 'pass':
          return relay(incoming, body, send(response));
        case 'answer':
          return send(response)(current.status, { 'content-type': current.contentType }, Buffer.from(current.body));
        case 'auth':
          if (incoming.headers.authorization !== current.authorization) return send(response)(401, { 'content-type': 'application/json' }, Buffer.from('{"error":"invalid token"}'));
          return relay(incoming, body, send(response));
        case 'faults': {
          if (random() >= current.failureRate) return relay(incoming, body, send(response));
          const kind = random();
          const what = `${incoming.method} ${incoming.url}`;
          if (hangs < current.maxHangs && kind < 0.25) {
            hangs++;
            if (hangs % 2 === 1) {
              // The request does its work upstream; only the answer is lost to the client's timeout.
              stats.hungAfter++;
              stats.log.push(`hang-after ${what}`);
              return relay(incoming, body, (status, headers, payload) => later(current.hangMs, () => send(response)(status, headers, payload)));
            }
            stats.hungBefore++;
            stats.log.push(`hang-before ${what}`);
            return later(current.hangMs, () => response.destroy());
          }
          if (kind < 0.6) {
            stats.status500++;
            stats.log.push(`500 ${what}`);
            return send(response)(500, { 'content-type': 'application/json' }, Buffer.from('{"error":"internal error"}'));
          }
          stats.status429++;
          const seconds = current.retryAfterSeconds[Math.floor(random() * current.retryAfterSeconds.length)] ?? 0;
          stats.log.push(`429 (Retry-After: ${seconds}) ${what}`);
          return send(response)(429, { 'content-type': 'application/json', 'retry-after': String(seconds) }, Buffer.from('{"error":"rate limited"}'));
        }
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    stats,
    setMode: (next) => {
      mode = next;
      if (next.kind === 'faults') {
        random = seededRandom(next.seed);
        hangs = 0;
      }
    },
    stop: async () => {
      for (const timer of timers) clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}
