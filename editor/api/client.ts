/** Types and calls for the runtime's HTTP API (SPEC §10); the editor is served by the runtime, so URLs are relative. */
import type { ConnectionOptions, ConnectorSummary } from '../../nodes/trigger/connectionForm';
// The wire shapes as the runtime's route schemas define them (the editor imports them from there, as types only, so
// no runtime code reaches the bundle); what follows here is the editor's own, looser view of the rest.
import type {
  ApiIssue,
  CollectionDescription,
  EntityInspectionView,
  FieldChange,
  FlowDraftState,
  FlowListEntry,
  FlowOverview,
  FlowStatus,
  RunSummary,
  VersionSummary,
} from '../../runtime/api/schemas';

export type { ConnectionOptions, ConnectorSummary };

export interface DryRunSide {
  nodeId: string;
  creates: { id: null; fields: FieldChange[] }[];
  /** `recordName`: what names the record to a person (the trigger's display field), or null. */
  updates: { id: string; recordName?: string | null; fields: FieldChange[] }[];
  deletes: { id: string; recordName?: string | null }[];
  /** Changes of this side's records the pass would not carry, and why (creates off, filtered out, …). */
  skipped?: { id: string | null; recordName?: string | null; reason: string }[];
}

export type { EntityInspectionView };

/** Which runs the history lists: all, those that wrote records, failed ones, those that filed conflicts. */
export type RunFilter = 'all' | 'changes' | 'failed' | 'conflicts';

export interface RunRecord {
  id: string;
  flowId: string;
  startedAt: string;
  finishedAt: string | null;
  status: 'ok' | 'failed' | 'stopped' | string;
  /** Why the pass ran: manual, schedule, webhook, cli. */
  reason?: string;
  dryRun?: boolean;
  summary: RunSummary | null;
  error: string | null;
  /** The cluster member that ran the pass (host:pid); null or absent when the runtime is one process. */
  process?: string | null;
}

/** What one pass did (run now) or would do (dry run); `status` says whether the pass itself ran. */
export interface PassResult {
  runId: string | null;
  status: string;
  summary: RunSummary | null;
  error: string | null;
}

export type RecordOutcome = 'created' | 'updated' | 'deleted' | 'echo' | 'conflict' | 'failed' | 'unchanged';

export interface RunLogEntry {
  nodeId: string;
  recordId: string | null;
  entityId: string | null;
  /** What names the record to a person (the trigger's display field), or null: it is then shown by its id. */
  recordName?: string | null;
  outcome: RecordOutcome | string;
  fields: FieldChange[];
  message: string | null;
}

export interface ConflictRecord {
  id: string;
  flowId: string;
  entityId: string;
  recordName?: string | null;
  kind: 'field' | 'match' | 'delete' | 'mass-delete' | string;
  field: string | null;
  base: unknown;
  sides: Record<string, unknown>;
  status: 'open' | 'resolved' | string;
  createdAt: string;
}

/** A stored credential as the runtime lists it: never a value. An OAuth2 one says whether it is usable. */
export type CredentialSummary =
  | { name: string; type: string; createdAt?: string }
  | {
      name: string;
      type: 'oauth2';
      createdAt?: string;
      grant: 'authorization_code' | 'client_credentials';
      /** `reconnect`: the authorization server refused it; a person must connect it again. */
      status: 'connected' | 'reconnect';
      expiresAt: string | null;
      refusal: string | null;
    };

/** A failed call, worded for a person: the server's own message when it sent one. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly path: string | undefined;
  readonly issues: ApiIssue[];
  constructor(status: number, code: string, message: string, path?: string, issues: ApiIssue[] = []) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.path = path;
    this.issues = issues;
  }
  /** True when no server answered at all (the editor opened from files, or the runtime stopped). */
  get unreachable(): boolean {
    return this.status === 0;
  }
}

export interface ApiClient {
  listFlows(): Promise<FlowListEntry[]>;
  getFlow(id: string): Promise<unknown>;
  createFlow(document: string): Promise<{ id: string }>;
  replaceFlow(id: string, document: string): Promise<unknown>;
  deploy(id: string): Promise<unknown>;
  pause(id: string): Promise<unknown>;
  run(id: string): Promise<PassResult>;
  /** A dry run of the stored flow, or of `draft` (the document text) against the flow's state. */
  dryRun(id: string, draft?: string): Promise<{ sides: DryRunSide[]; status?: string; error?: string | null }>;
  /** A page of run history, newest first: `limit` runs matching `filter`, older than the run `before`. */
  runs(flowId: string, page?: { filter?: RunFilter; before?: string; limit?: number }): Promise<RunRecord[]>;
  deleteFlow(id: string): Promise<unknown>;
  overview(): Promise<{ flows: FlowOverview[] }>;
  draftState(id: string): Promise<FlowDraftState>;
  /** Saves the document text as the flow's draft. */
  saveDraft(id: string, document: string): Promise<{ id: string; savedAt: string }>;
  discardDraft(id: string): Promise<unknown>;
  versions(id: string): Promise<VersionSummary[]>;
  version(id: string, version: number): Promise<VersionSummary & { document: unknown }>;
  runLog(runId: string): Promise<{ run: RunRecord; log: RunLogEntry[] }>;
  conflicts(flowId: string): Promise<ConflictRecord[]>;
  resolveConflict(id: string, resolution: { side: string } | { value: unknown }): Promise<unknown>;
  /** One linked record explained: where each field's value came from, each side's record, its conflicts and log. */
  inspectEntity(flowId: string, entityId: string): Promise<EntityInspectionView>;
  status(flowId: string): Promise<FlowStatus>;
  /** Connector types, each with its connection form when it declares one. */
  connectors(): Promise<ConnectorSummary[]>;
  /** The choices of a connection form's lookup field (GitHub repositories), read by the runtime from the system. */
  connectionOptions(connector: string, connection: unknown, field: string): Promise<ConnectionOptions>;
  /** A few records of a trigger's collection (its config as the canvas holds it), read by the runtime from the system. */
  sample(trigger: unknown, limit?: number): Promise<{ records: Array<{ id: string; fields: Record<string, unknown> }> }>;
  /** The collections and fields a connection holds; `collection` helps connectors that can only describe an open one. */
  describe(connector: string, connection: unknown, collection?: string): Promise<{ collections: CollectionDescription[] }>;
  credentials(): Promise<CredentialSummary[]>;
  /** Stores a credential: `value` is the type's shape (runtime/credentials/types.ts `credentialInputSchema`). */
  createCredential(name: string, type: string, value: unknown): Promise<{ name: string; type: string }>;
  deleteCredential(name: string): Promise<unknown>;
  /** Starts an OAuth2 consent for credential `name`; open `authorizationUrl` in a popup. */
  startOAuth(name: string, settings: Record<string, unknown>): Promise<{ authorizationUrl: string; redirectUri: string; expiresAt: string }>;
}

const TOKEN_KEY = 'syncline.token';

/** Takes `?token=` from the page address into localStorage (and out of the address bar), and returns the kept token. */
export function adoptToken(location: Location, storage: Storage, history: History): string | null {
  const url = new URL(location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    storage.setItem(TOKEN_KEY, fromUrl);
    url.searchParams.delete('token');
    // The token should not linger in the address bar, where it is copied along with links and screenshots.
    history.replaceState(null, '', url.toString());
    return fromUrl;
  }
  return storage.getItem(TOKEN_KEY);
}

/** The token kept from an earlier visit, if any. */
export function storedToken(storage: Storage): string | null {
  return storage.getItem(TOKEN_KEY);
}

/** Keeps a token the user typed in for later visits. */
export function storeToken(storage: Storage, token: string): void {
  storage.setItem(TOKEN_KEY, token);
}

/** What a person is told when the runtime refuses the token the editor sent. */
export const TOKEN_REFUSED =
  'This token was refused by the runtime. Open the address `syncline serve` printed (it ends in ?token=…), or paste the token it printed.';

function describeFailure(status: number, body: unknown): ApiError {
  const error = (body as { error?: { code?: string; message?: string; path?: string } } | null)?.error;
  const issues = (body as { issues?: ApiIssue[] } | null)?.issues;
  const message =
    error?.message ??
    (status === 401 ? TOKEN_REFUSED : `The runtime answered ${status}.`);
  return new ApiError(status, error?.code ?? `http_${status}`, message, error?.path, Array.isArray(issues) ? issues : []);
}

/** An API client sending `token` as the bearer; `fetchImpl` is injectable so tests need no server. */
export function createApiClient(getToken: () => string | null, fetchImpl: typeof fetch = (...args) => fetch(...args)): ApiClient {
  async function call<T>(method: string, url: string, body?: unknown, raw = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    const token = getToken();
    if (token) headers.authorization = `Bearer ${token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let response: Response;
    try {
      response = await fetchImpl(url, {
        method,
        headers,
        body: body === undefined ? undefined : raw ? (body as string) : JSON.stringify(body),
      });
    } catch {
      throw new ApiError(0, 'unreachable', 'The Syncline runtime is not reachable. Start it with `syncline serve` and open the address it prints.');
    }
    const text = await response.text();
    let parsed: unknown = null;
    if (text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // A non-JSON answer (a static file server, a proxy page) means this is not the runtime.
        if (!response.ok || !(response.headers.get('content-type') ?? '').includes('json')) {
          throw new ApiError(0, 'unreachable', 'No Syncline runtime answers here. Start it with `syncline serve` and open the address it prints.');
        }
      }
    }
    // A token was sent and turned away: that, not the missing-token advice, is what the person needs to hear.
    if (response.status === 401 && token) throw new ApiError(401, 'unauthorized', TOKEN_REFUSED);
    if (!response.ok) throw describeFailure(response.status, parsed);
    return parsed as T;
  }
  const enc = encodeURIComponent;
  return {
    listFlows: () => call('GET', '/api/flows'),
    getFlow: (id) => call('GET', `/api/flows/${enc(id)}`),
    createFlow: (document) => call('POST', '/api/flows', document, true),
    replaceFlow: (id, document) => call('PUT', `/api/flows/${enc(id)}`, document, true),
    deploy: (id) => call('POST', `/api/flows/${enc(id)}/deploy`),
    pause: (id) => call('POST', `/api/flows/${enc(id)}/pause`),
    run: (id) => call('POST', `/api/flows/${enc(id)}/run`),
    dryRun: (id, draft) => (draft === undefined ? call('POST', `/api/flows/${enc(id)}/dry-run`) : call('POST', `/api/flows/${enc(id)}/dry-run`, draft, true)),
    runs: (flowId, page = {}) => {
      const query = new URLSearchParams();
      if (page.filter && page.filter !== 'all') query.set('filter', page.filter);
      if (page.before) query.set('before', page.before);
      if (page.limit) query.set('limit', String(page.limit));
      const text = query.toString();
      return call('GET', `/api/flows/${enc(flowId)}/runs${text ? `?${text}` : ''}`);
    },
    deleteFlow: (id) => call('DELETE', `/api/flows/${enc(id)}`),
    overview: () => call('GET', '/api/overview'),
    draftState: (id) => call('GET', `/api/flows/${enc(id)}/draft`),
    saveDraft: (id, document) => call('PUT', `/api/flows/${enc(id)}/draft`, document, true),
    discardDraft: (id) => call('DELETE', `/api/flows/${enc(id)}/draft`),
    versions: (id) => call('GET', `/api/flows/${enc(id)}/versions`),
    version: (id, version) => call('GET', `/api/flows/${enc(id)}/versions/${version}`),
    runLog: (runId) => call('GET', `/api/runs/${enc(runId)}`),
    conflicts: (flowId) => call('GET', `/api/conflicts?flow=${enc(flowId)}`),
    resolveConflict: (id, resolution) => call('POST', `/api/conflicts/${enc(id)}/resolve`, resolution),
    inspectEntity: (flowId, entityId) => call('GET', `/api/flows/${enc(flowId)}/entities/${enc(entityId)}`),
    status: (flowId) => call('GET', `/api/flows/${enc(flowId)}/status`),
    connectors: () => call('GET', '/api/connectors'),
    connectionOptions: (connector, connection, field) => call('POST', '/api/connectors/options', { connector, connection, field }),
    sample: (trigger, limit) => call('POST', '/api/connectors/sample', limit === undefined ? { trigger } : { trigger, limit }),
    describe: (connector, connection, collection) =>
      call('POST', '/api/connectors/describe', collection ? { connector, connection, collection } : { connector, connection }),
    credentials: () => call('GET', '/api/credentials'),
    createCredential: (name, type, value) => call('POST', '/api/credentials', { name, type, value }),
    deleteCredential: (name) => call('DELETE', `/api/credentials/${enc(name)}`),
    startOAuth: (name, settings) => call('POST', `/api/credentials/${enc(name)}/oauth/start`, settings),
  };
}
