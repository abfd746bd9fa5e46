import type { Connection, EdgeChange, NodeChange } from '@xyflow/react';
import type { StoreApi } from 'zustand';
import type { TemporalState } from 'zundo';
import type {
  ApiClient,
  ApiIssue,
  CollectionDescription,
  ConflictRecord,
  CredentialSummary,
  DryRunSide,
  FlowListEntry,
  PassResult,
  RunLogEntry,
  RunRecord,
  TriggerStatus,
} from '../api/client';
import type { CanvasEdge, CanvasFlow, CanvasNode, FlowMeta } from '../document/canvasDocument';
import type { NodeType } from '../../nodes';

/** An issue as the validator reports it (nodes/document.ts `FlowIssue`, the same shape the API sends). */
export type FlowIssue = ApiIssue;

// ---- flow slice: the document being edited -------------------------------------------------------------------

export interface FlowSliceState {
  meta: FlowMeta;
  nodes: CanvasNode[];
  edges: CanvasEdge[];
}

export interface FlowSliceActions {
  applyNodeChanges(changes: NodeChange<CanvasNode>[]): void;
  applyEdgeChanges(changes: EdgeChange<CanvasEdge>[]): void;
  /** Adds the edge, or refuses it and says why (the reason is also shown as a notice). */
  connect(connection: Connection): string | null;
  addNode(type: NodeType, position: { x: number; y: number }): string;
  deleteElements(nodeIds: string[], edgeIds: string[]): void;
  deleteSelection(): void;
  updateConfig(nodeId: string, config: unknown): void;
  setLabel(nodeId: string, label: string): void;
  /** Renames a node everywhere it is referred to (edges, prefer policies), or returns why it cannot. */
  renameNode(oldId: string, newId: string): string | null;
  setMeta(patch: Partial<Pick<FlowMeta, 'id' | 'name'>>): void;
  /** Replaces the whole flow (import, template, open) and starts a fresh undo history. */
  replaceFlow(flow: CanvasFlow): void;
  /** Opens any JSON value as the flow (migrated first); what is wrong with it shows as issues, nothing is dropped. */
  importDocument(input: unknown): void;
  /** The document as export writes it: the bytes the runtime would store. */
  exportText(): string;
  setPositions(positions: ReadonlyMap<string, { x: number; y: number }>): void;
  selectOnly(nodeIds: string[]): void;
  copySelection(): number;
  paste(): number;
  /** A drag is one undo step, however many positions it passes through. */
  beginDrag(): void;
  endDrag(): void;
}

// ---- ui slice: what the person is looking at -------------------------------------------------------------------

export type Drawer = 'issues' | 'runs' | 'dry-run' | 'conflicts';
export type Dialog = 'import' | 'templates' | 'open' | 'token' | 'credentials';

export interface Notice {
  tone: 'error' | 'info';
  text: string;
  /** Increments so the same message shown twice is still announced. */
  serial: number;
}

export interface UiSliceState {
  notice: Notice | null;
  issues: FlowIssue[];
  issuesByNode: Record<string, FlowIssue[]>;
  /** Bumped when validation has caught up with the current document, so tests and badges know it is fresh. */
  validatedRevision: number;
  drawer: Drawer | null;
  dialog: Dialog | null;
  /** Bumped when a whole new flow is shown, so the canvas fits it into view. */
  viewRevision: number;
  /** A node drag is in progress. */
  dragging: boolean;
  paletteQuery: string;
  clipboard: { nodes: CanvasNode[]; edges: CanvasEdge[] } | null;
}

export interface UiSliceActions {
  notify(tone: Notice['tone'], text: string): void;
  dismissNotice(): void;
  setIssues(issues: FlowIssue[]): void;
  openDrawer(drawer: Drawer | null): void;
  openDialog(dialog: Dialog | null): void;
  setPaletteQuery(query: string): void;
}

// ---- runs slice: the runtime's view of this flow ---------------------------------------------------------------

export type Busy = 'deploy' | 'run' | 'dry-run' | 'runs' | 'conflicts' | 'open' | null;

export interface DescribeResult {
  signature: string;
  collections: CollectionDescription[] | null;
  error: string | null;
}

export interface RunsSliceState {
  server: {
    /** null until the first call answers. */
    reachable: boolean | null;
    connectors: { type: string; title: string }[] | null;
    credentials: CredentialSummary[] | null;
  };
  /** The id under which the runtime holds this flow, once saved there. */
  savedId: string | null;
  /** The bytes last saved there, to know whether the canvas changed since. */
  savedDocument: string | null;
  deployed: boolean;
  busy: Busy;
  apiError: string | null;
  /** Issues the runtime reported when it refused the flow (it also checks connections, which the editor cannot). */
  serverIssues: FlowIssue[] | null;
  lastRun: PassResult | null;
  dryRun: DryRunSide[] | null;
  runs: RunRecord[] | null;
  openRun: { run: RunRecord; log: RunLogEntry[] } | null;
  conflicts: ConflictRecord[] | null;
  status: Record<string, TriggerStatus>;
  described: Record<string, DescribeResult>;
  serverFlows: FlowListEntry[] | null;
}

export interface RunsSliceActions {
  probeServer(): Promise<void>;
  deploy(): Promise<boolean>;
  runNow(): Promise<void>;
  runDry(): Promise<void>;
  loadRuns(): Promise<void>;
  openRunLog(runId: string): Promise<void>;
  loadConflicts(): Promise<void>;
  resolveConflict(id: string, resolution: { side: string } | { value: unknown }): Promise<void>;
  pollStatus(): Promise<void>;
  describeTrigger(nodeId: string): Promise<void>;
  listServerFlows(): Promise<void>;
  openServerFlow(id: string): Promise<void>;
}

// ---- credentials slice: what the runtime stores to reach the systems ----------------------------------------------

/** Why the runtime refused a credential, and the field it names (`value.password`, `clientId`), if any. */
export interface CredentialProblem {
  message: string;
  path: string | null;
}

export interface CredentialsSliceActions {
  /** Reads the stored credentials again into `server.credentials`. */
  loadCredentials(): Promise<void>;
  /** Stores a credential of `type` with the type's value; null when stored. */
  addCredential(name: string, type: string, value: unknown): Promise<CredentialProblem | null>;
  removeCredential(name: string): Promise<void>;
  /** Starts an OAuth2 consent: the address of the server's consent page, or why it could not start. */
  startOAuth(name: string, settings: Record<string, unknown>): Promise<{ authorizationUrl: string; redirectUri: string } | CredentialProblem>;
}

export type State = FlowSliceState & UiSliceState & RunsSliceState;
export type Actions = FlowSliceActions & UiSliceActions & RunsSliceActions & CredentialsSliceActions;
export type FlowStoreState = State & Actions;

/** What undo and redo restore: the graph only, never the UI or run state. */
export type HistoryState = Pick<FlowSliceState, 'nodes' | 'edges'>;

export type FlowStoreApi = StoreApi<FlowStoreState> & { temporal: StoreApi<TemporalState<HistoryState>> };

/** What the store needs from outside: the API, and the document functions of nodes/document.ts. */
export interface StoreDeps {
  api: ApiClient;
  /** Every issue the runtime's validator finds in a document (unknown connectors only when the list is known). */
  validate(document: unknown, knownConnectors: readonly string[] | undefined): FlowIssue[];
  /** A document brought up to the current flow version, everything else kept as it is. */
  migrate(document: unknown): unknown;
  /** The exact bytes the runtime stores for a document. */
  serialize(document: unknown): string;
}

export type SetState = StoreApi<FlowStoreState>['setState'];
export type GetState = StoreApi<FlowStoreState>['getState'];

/** Coordinates how edits become undo steps: a drag is one step, and typing into one form field is one step. */
export interface HistoryControl {
  beginDrag(): void;
  endDrag(): void;
  /** Edits with the same key within a second of each other share one undo step. */
  coalesce<T>(key: string, apply: () => T): T;
  clear(): void;
}

export interface SliceContext {
  set: SetState;
  get: GetState;
  deps: StoreDeps;
  history: HistoryControl;
}
