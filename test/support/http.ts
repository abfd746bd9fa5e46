import { createServer, type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import { createServer as createTcpServer, type AddressInfo } from 'node:net';

/** A port free on loopback right now (the OS picks it), for a server that has to name its port before it starts. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createTcpServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** A request's whole body, as text. */
export async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** One request a receiver got, read whole. */
export interface ReceivedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

export interface Receiver {
  /** `http://127.0.0.1:<port>`, without a trailing slash. */
  origin: string;
  close(): Promise<void>;
}

/**
 * A server on 127.0.0.1 standing in for whatever a fake sends to (a webhook's target): each request is read whole,
 * handed to `answer`, and answered with the status `answer` returns and an empty body.
 */
export async function startReceiver(answer: (request: ReceivedRequest) => number): Promise<Receiver> {
  const server = createServer((request, response) => {
    readBody(request).then(
      (body) => {
        const status = answer({ method: request.method ?? '', url: request.url ?? '', headers: request.headers, body });
        response.writeHead(status).end();
      },
      () => response.destroy(),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** A response read whole, for tests that talk to a fake over real HTTP. */
export interface Reply {
  status: number;
  headers: Headers;
  text: string;
  /** The body parsed as JSON; null when it is empty or not JSON. Typed loosely: each test reads the fields it asserts. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json: any;
}

/** Reads `response` whole: its status, headers, text and, where the text is JSON, the value it holds. */
export async function readReply(response: Response): Promise<Reply> {
  const text = await response.text();
  let json: unknown = null;
  try {
    json = text === '' ? null : JSON.parse(text);
  } catch {
    // Not JSON: the test reads `text`.
  }
  return { status: response.status, headers: response.headers, text, json };
}
