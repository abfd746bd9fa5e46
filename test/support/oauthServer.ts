import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { OAuth2Server } from 'oauth2-mock-server';

/** One request to the token endpoint, as the server received it. */
export interface TokenRequest {
  grantType: string;
  refreshToken: string | null;
  clientId: string | null;
}

/** A real OAuth2 authorization server (oauth2-mock-server) on 127.0.0.1, with what it was asked and what it handed out. */
export interface TestAuthorizationServer {
  server: OAuth2Server;
  /** http://localhost:PORT: its issuer, which publishes /.well-known/openid-configuration. */
  issuer: string;
  /** Every token request answered, in order. */
  requests: TokenRequest[];
  /** Every token handed out (successful answers only), in order. */
  issued: Array<{ accessToken: string; refreshToken: string | null }>;
  /** Makes the next token answer an OAuth error, as a server that revoked a grant or does not know a client would. */
  refuseNextToken(error: string, description: string, status?: number): void;
  stop(): Promise<void>;
}

/** Starts oauth2-mock-server on a free loopback port. Tokens get a random `jti`, so two signed in one second differ. */
export async function startAuthorizationServer(): Promise<TestAuthorizationServer> {
  const server = new OAuth2Server();
  await server.issuer.keys.generate('RS256');
  await server.start(0, '127.0.0.1');
  const requests: TokenRequest[] = [];
  const issued: TestAuthorizationServer['issued'] = [];
  server.service.on('beforeTokenSigning', (token: { payload: Record<string, unknown> }) => {
    token.payload.jti = randomUUID();
  });
  server.service.on('beforeResponse', (response: { body: Record<string, unknown>; statusCode: number }, request: IncomingMessage & { body: Record<string, string> }) => {
    requests.push({ grantType: request.body.grant_type ?? '', refreshToken: request.body.refresh_token ?? null, clientId: request.body.client_id ?? null });
    if (response.statusCode === 200) issued.push({ accessToken: String(response.body.access_token), refreshToken: (response.body.refresh_token as string | undefined) ?? null });
  });
  return {
    server,
    issuer: server.issuer.url as string,
    requests,
    issued,
    refuseNextToken: (error, description, status = 400) => {
      // Ahead of the recorder, so the request is recorded with the refusal's status.
      server.service.prependOnceListener('beforeResponse', (response: { body: unknown; statusCode: number }) => {
        response.body = { error, error_description: description };
        response.statusCode = status;
      });
    },
    stop: () => server.stop(),
  };
}
