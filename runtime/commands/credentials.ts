import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { z } from 'zod';
import { AccessRefusedError, buildConnectorAccess, readAccessOption } from '../connectors/access';
import { loadOrCreateKey } from '../credentials/cipher';
import { OAuthRefusedError, OAuthUnavailableError } from '../credentials/oauth2';
import { CredentialStore, type CredentialSummary } from '../credentials/store';
import { credentialKind, credentialNameSchema, secretSchema } from '../credentials/types';
import { openStateDb, type StateDb } from '../db/index';
import { commandArgs } from './args';
import { chooseState, credentialKeyFile, DEFAULT_DATA_DIR, describeState, resolveState, STATE_CREDENTIAL_PREFIX, STATE_URL_ENV, stateInPostgres } from './stateOption';

const usage = `usage:
  syncline credentials add NAME --type TYPE [--state FILE.db|URL] [--data DIR] [--username U] [OAUTH2 OPTIONS]
  syncline credentials list [--state FILE.db|URL]
  syncline credentials remove NAME [--state FILE.db|URL]

add reads the secret from standard input (never from the command line, which shell history keeps):
  --type token    an API or bearer token (any other type, e.g. webhook-secret, is a token under that label)
  --type basic    the password; --username U is required (a Zendesk API token: --username you@example.com/token)
  --type oauth2   the client secret of an OAuth2 client-credentials client; its first token is fetched at once:
    --token-url URL | --issuer URL   the token endpoint, or the issuer that publishes it
    --client-id ID                   the client id
    --scope SCOPE                    a scope to ask for; repeatable
    --client-auth post|basic         how the secret is sent (default post: in the form body)
    --allow-hosts LIST               a token endpoint on a loopback or private host (also SYNCLINE_ALLOW_HOSTS)
  An OAuth2 authorization-code credential needs a person's consent: connect it in the editor (syncline serve,
  Credentials, Connect), with --data the folder of this state.

--state FILE.db is the runtime state (default ./.syncline/state.db, or ${STATE_URL_ENV} when set), the one
\`run --once --state\` reads; the key that encrypts the credentials is credentials.key beside it, created (0600) with
the first credential. --state postgres://USER@HOST:PORT/DB?schema=NAME is a state in PostgreSQL (as \`serve --state\`
keeps it); its key is then credentials.key in --data DIR (default ./.syncline): give the data folder of the
\`serve\` that uses this state, so both encrypt with the same key. --state ${STATE_CREDENTIAL_PREFIX}NAME is such a URL
stored as credential NAME in DIR/state.db; store the URL itself there first, with --state DIR/state.db.`;

interface CredentialsArgs {
  action: 'add' | 'list' | 'remove';
  name: string | null;
  /** The state: a SQLite file or a postgres:// URL (stateOption.ts). */
  statePath: string;
  /** Where credentials.key is, when not beside a state file (`--data`). */
  dataDir: string | null;
  type: string | null;
  username: string | null;
  tokenUrl: string | null;
  issuer: string | null;
  clientId: string | null;
  scopes: string[];
  clientAuth: 'client_secret_post' | 'client_secret_basic' | null;
  allowHosts: string[];
}

/** Parses `credentials` arguments, or returns what is wrong with them. */
export function parseCredentialsArgs(args: string[], env: Readonly<Record<string, string | undefined>> = process.env): CredentialsArgs | string {
  const [action, ...rest] = args;
  if (action !== 'add' && action !== 'list' && action !== 'remove') return action ? `unknown action "${action}": use add, list or remove` : 'missing action: add, list or remove';
  const parsed: CredentialsArgs = {
    action,
    name: null,
    statePath: '',
    dataDir: null,
    type: null,
    username: null,
    tokenUrl: null,
    issuer: null,
    clientId: null,
    scopes: [],
    clientAuth: null,
    allowHosts: [],
  };
  let stateFlag: string | null = null;
  for (const { arg, value } of commandArgs(rest)) {
    try {
      if (arg === '--state') stateFlag = value('a file or a postgres:// URL');
      else if (arg === '--data') parsed.dataDir = resolve(value('a folder'));
      else if (action === 'add' && arg === '--type') parsed.type = value();
      else if (action === 'add' && arg === '--username') parsed.username = value();
      else if (action === 'add' && arg === '--token-url') parsed.tokenUrl = value();
      else if (action === 'add' && arg === '--issuer') parsed.issuer = value();
      else if (action === 'add' && arg === '--client-id') parsed.clientId = value();
      else if (action === 'add' && arg === '--scope') parsed.scopes.push(value());
      else if (action === 'add' && arg === '--client-auth') {
        const method = value();
        if (method !== 'post' && method !== 'basic') return '--client-auth must be post or basic';
        parsed.clientAuth = method === 'post' ? 'client_secret_post' : 'client_secret_basic';
      } else if (action === 'add' && readAccessOption(arg, value, { allowFiles: [], allowHosts: parsed.allowHosts })) continue;
      else if (arg.startsWith('--')) return `unknown option ${arg} for credentials ${action}`;
      else if (action === 'list' || parsed.name !== null) return `unexpected argument ${arg}`;
      else parsed.name = arg;
    } catch (error) {
      return (error as Error).message;
    }
  }
  parsed.statePath = chooseState(stateFlag, env, resolve('.syncline', 'state.db'));
  if (action !== 'list') {
    if (parsed.name === null) return 'missing NAME';
    const name = credentialNameSchema.safeParse(parsed.name);
    if (!name.success) return `NAME ${name.error.issues[0]?.message ?? 'is not valid'}`;
  }
  if (action === 'add') {
    if (parsed.type === null) return 'missing --type TYPE: token, basic or oauth2';
    const kind = credentialKind(parsed.type);
    if (kind === 'basic' && parsed.username === null) return '--type basic needs --username U';
    if (kind !== 'basic' && parsed.username !== null) return '--username is for --type basic';
    const oauthOptions = parsed.tokenUrl ?? parsed.issuer ?? parsed.clientId ?? parsed.clientAuth ?? parsed.scopes[0] ?? null;
    if (kind !== 'oauth2' && oauthOptions !== null) return '--token-url, --issuer, --client-id, --scope and --client-auth are for --type oauth2';
    if (kind === 'oauth2' && parsed.clientId === null) return '--type oauth2 needs --client-id ID';
    if (kind === 'oauth2' && parsed.tokenUrl === null && parsed.issuer === null) return '--type oauth2 needs --token-url URL or --issuer URL';
  }
  return parsed;
}

/** The option a problem in a credential's value is set by, for messages in the command line's own words. */
const optionOf: Record<string, string> = {
  username: '--username',
  password: 'the password (standard input)',
  clientSecret: 'the client secret (standard input)',
  tokenEndpoint: '--token-url',
  issuer: '--issuer',
  clientId: '--client-id',
  scopes: '--scope',
};

function describeValueError(error: z.ZodError): string {
  return error.issues
    .map((issue) => {
      const key = issue.path.find((part): part is string => typeof part === 'string');
      return `${key ? (optionOf[key] ?? key) : 'the secret (standard input)'}: ${issue.message}`;
    })
    .join('\n');
}

/**
 * `syncline credentials add|list|remove`: the credentials of a state, in the same encrypted store `serve` keeps in its
 * data folder and `run --once --state` reads. Exit 0 done, 1 refused (a taken name, a secret the server refused), 2
 * wrong usage (a state file to list or remove from that does not exist included).
 */
export async function credentialsCommand(args: string[], input: NodeJS.ReadStream = process.stdin): Promise<number> {
  if (args[0] === '--help' || args[0] === '-h' || args[0] === 'help') {
    process.stdout.write(`${usage}\n`);
    return 0;
  }
  const parsed = parseCredentialsArgs(args);
  if (typeof parsed === 'string') {
    process.stderr.write(`syncline credentials: ${parsed}\n${usage}\n`);
    return 2;
  }
  // Only `add` makes a state: listing or removing in a new, empty one (a mistyped --state) would read as "none stored".
  if (parsed.action !== 'add' && !stateInPostgres(parsed.statePath) && !existsSync(parsed.statePath)) {
    process.stderr.write(`syncline credentials: no state at ${parsed.statePath}: --state names the state file the credentials were added to (a data folder's state.db), or a postgres:// URL\n`);
    return 2;
  }
  const access = buildConnectorAccess({ defaultDirs: [], allowHosts: parsed.allowHosts, runtimeFiles: [], env: process.env });
  if (typeof access === 'string') {
    process.stderr.write(`syncline credentials: ${access}\n`);
    return 2;
  }
  let secret = '';
  if (parsed.action === 'add') {
    try {
      secret = await readSecret(input, parsed.type === 'basic' ? 'Password' : credentialKind(parsed.type ?? '') === 'oauth2' ? 'Client secret' : 'Secret');
    } catch (error) {
      process.stderr.write(`syncline credentials: ${(error as Error).message}\n`);
      return 1;
    }
    const checked = secretSchema.safeParse(secret);
    if (!checked.success) {
      process.stderr.write(`syncline credentials: the secret on standard input ${checked.error.issues[0]?.message ?? 'is not valid'}\n`);
      return 1;
    }
  }
  let db: StateDb;
  try {
    parsed.statePath = await resolveState(parsed.statePath, parsed.dataDir ?? resolve(DEFAULT_DATA_DIR));
    db = await openStateDb(parsed.statePath);
  } catch (error) {
    process.stderr.write(`syncline credentials: ${(error as Error).message}\n`);
    return 1;
  }
  try {
    // The key is needed only to encrypt: listing and removing work without one.
    const store = new CredentialStore(db, () => loadOrCreateKey(credentialKeyFile(parsed.statePath, parsed.dataDir)), { hosts: access.hosts });
    switch (parsed.action) {
      case 'list':
        for (const summary of await store.list()) process.stdout.write(`${describeSummary(summary)}\n`);
        return 0;
      case 'remove': {
        const name = parsed.name as string;
        if (!(await store.remove(name))) {
          process.stderr.write(`syncline credentials: no credential "${name}" in ${describeState(parsed.statePath)}\n`);
          return 1;
        }
        process.stdout.write(`removed "${name}"\n`);
        return 0;
      }
      case 'add':
        return await add(store, parsed, secret);
    }
  } finally {
    await db.destroy();
  }
}

async function add(store: CredentialStore, parsed: CredentialsArgs, secret: string): Promise<number> {
  const name = parsed.name as string;
  const type = parsed.type as string;
  const value = (() => {
    switch (credentialKind(type)) {
      case 'token':
        return secret;
      case 'basic':
        return { username: parsed.username, password: secret };
      case 'oauth2':
        return {
          grant: 'client_credentials',
          ...(parsed.issuer !== null ? { issuer: parsed.issuer } : {}),
          ...(parsed.tokenUrl !== null ? { tokenEndpoint: parsed.tokenUrl } : {}),
          clientId: parsed.clientId,
          clientSecret: secret,
          ...(parsed.clientAuth !== null ? { clientAuth: parsed.clientAuth } : {}),
          ...(parsed.scopes.length > 0 ? { scopes: parsed.scopes } : {}),
        };
    }
  })();
  let created: CredentialSummary | null;
  try {
    created = await store.create(name, type, value);
  } catch (error) {
    let message: string;
    if (error instanceof z.ZodError) message = describeValueError(error);
    else if (error instanceof OAuthRefusedError || error instanceof OAuthUnavailableError || error instanceof AccessRefusedError) message = error.message;
    else throw error;
    process.stderr.write(`syncline credentials: "${name}" not stored: ${message}\n`);
    return 1;
  }
  if (!created) {
    process.stderr.write(`syncline credentials: a credential named "${name}" exists: remove it first (syncline credentials remove ${name}) to replace it\n`);
    return 1;
  }
  process.stdout.write(`stored "${name}" (${type}), encrypted in ${describeState(parsed.statePath)}\n`);
  return 0;
}

function describeSummary(summary: CredentialSummary): string {
  if (!('grant' in summary)) return `${summary.name}\t${summary.type}`;
  const state = summary.status === 'connected' ? (summary.expiresAt ? `connected, token expires ${summary.expiresAt}` : 'connected') : `reconnect: ${summary.refusal ?? 'refused by the server'}`;
  return `${summary.name}\t${summary.type}\t${summary.grant === 'authorization_code' ? 'authorization code' : 'client credentials'}, ${state}`;
}

const MAX_SECRET_BYTES = 65_536;

/**
 * The secret on standard input. Piped or redirected: all of it, less one final line break. A terminal: one line,
 * typed without echo, after a prompt on stderr.
 */
async function readSecret(input: NodeJS.ReadStream, what: string): Promise<string> {
  if (input.isTTY) return readHiddenLine(input, what);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of input) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    size += buffer.length;
    if (size > MAX_SECRET_BYTES) throw new Error('the secret on standard input is larger than 64 KiB');
    chunks.push(buffer);
  }
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

function readHiddenLine(input: NodeJS.ReadStream, what: string): Promise<string> {
  process.stderr.write(`${what} (not shown; Enter to finish): `);
  return new Promise((done, fail) => {
    let line = '';
    const finish = (error: Error | null) => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      process.stderr.write('\n');
      if (error) fail(error);
      else done(line);
    };
    const onData = (chunk: Buffer | string) => {
      for (const char of String(chunk)) {
        if (char === '\r' || char === '\n' || char === '\u0004') return finish(null);
        if (char === '\u0003') return finish(new Error('cancelled'));
        if (char === '\u007f' || char === '\b') line = line.slice(0, -1);
        else line += char;
      }
    };
    input.setRawMode(true);
    input.setEncoding('utf8');
    input.on('data', onData);
    input.resume();
  });
}
