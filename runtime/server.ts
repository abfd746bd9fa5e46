import { serve, type ServerType } from '@hono/node-server';
import type { Hono } from 'hono';
import type { AddressInfo } from 'node:net';

export interface ListeningServer {
  server: ServerType;
  host: string;
  port: number;
  /** Stops accepting connections and waits for open ones to end. */
  close(): Promise<void>;
}

/** Listens with the app on `host:port` (port 0 picks a free one); resolves once bound. */
export function listen(app: Hono, options: { host: string; port: number }): Promise<ListeningServer> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: app.fetch, hostname: options.host, port: options.port }, (info: AddressInfo) => {
      server.off('error', reject);
      resolve({
        server,
        host: options.host,
        port: info.port,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            // Keep-alive connections would hold close() open until they time out.
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      });
    });
    server.once('error', reject);
  });
}
