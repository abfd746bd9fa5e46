import { getRequestListener, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WEBHOOK_BODY_LIMIT } from './api/hooks';
import { hookParams } from './api/schemas';
import { internalErrorBody } from './http/errorBody';
import { receiveWebhook, type WebhookReceiverDeps } from './webhooks/receive';

export interface ListeningServer {
  server: ServerType;
  host: string;
  port: number;
  /** Stops accepting connections and waits for open ones to end. */
  close(): Promise<void>;
}

type Listener = (request: IncomingMessage, response: ServerResponse) => void;

/** `/hooks/:flowId/:nodeId`, optionally with a query string, as the Hono route matches it. */
const HOOK_PATH = /^\/hooks\/([^/?#]+)\/([^/?#]+)(?:\?.*)?$/;

/**
 * Webhooks straight from Node's request to `receiveWebhook`, without the Hono app: building a web Request and
 * Response for each delivery, routing and middleware took about a third of the server's main thread under a webhook
 * burst. Only what that path would answer the same way comes here — a POST with a valid route and a declared length
 * within the limit; anything else (a chunked body, an oversized one, a malformed id) goes to the app, which answers it
 * with its usual errors.
 */
export function directWebhooks(deps: WebhookReceiverDeps, fallback: Listener): Listener {
  const send = (response: ServerResponse, status: number, body: unknown) => {
    const json = JSON.stringify(body);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(json) });
    response.end(json);
  };
  return (request, response) => {
    const match = request.method === 'POST' ? HOOK_PATH.exec(request.url ?? '') : null;
    const length = Number(request.headers['content-length']);
    if (!match || request.headers['transfer-encoding'] !== undefined || !Number.isSafeInteger(length) || length > WEBHOOK_BODY_LIMIT) {
      fallback(request, response);
      return;
    }
    let ids: { flowId: string; nodeId: string };
    try {
      const parsed = hookParams.safeParse({ flowId: decodeURIComponent(match[1] as string), nodeId: decodeURIComponent(match[2] as string) });
      if (!parsed.success) throw parsed.error;
      ids = parsed.data;
    } catch {
      fallback(request, response);
      return;
    }
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('error', () => response.destroy());
    request.on('end', () => {
      const started = performance.now();
      receiveWebhook(deps, { ...ids, method: 'POST', url: request.url ?? '', body: Buffer.concat(chunks), header: (name) => headerValue(request, name) }).then(
        (answer) => {
          send(response, answer.status, answer.body);
          if (deps.logger.isLevelEnabled('debug')) {
            deps.logger.debug({ method: 'POST', path: request.url?.split('?')[0], status: answer.status, ms: Math.round(performance.now() - started) }, 'request');
          }
        },
        (error: unknown) => {
          deps.logger.error({ err: error, method: 'POST', path: request.url?.split('?')[0] }, 'request failed');
          send(response, 500, internalErrorBody);
        },
      );
    });
  };
}

function headerValue(request: IncomingMessage, name: string): string | undefined {
  const value = request.headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Listens with the app on `host:port` (port 0 picks a free one); resolves once bound. With `webhooks`, deliveries to
 * /hooks take the direct path above.
 */
export function listen(app: Hono, options: { host: string; port: number; webhooks?: Parameters<typeof directWebhooks>[0] }): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    const viaApp = getRequestListener(app.fetch);
    const server = createServer(options.webhooks ? directWebhooks(options.webhooks, viaApp) : viaApp);
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve({
        server,
        host: options.host,
        port: (server.address() as AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections would hold close() open until they time out.
            server.closeAllConnections();
          }),
      });
    });
  });
}
