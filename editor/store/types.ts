import type { Connection, EdgeChange, NodeChange } from '@xyflow/react';
import type { StoreApi } from 'zustand';
import type { TemporalState } from 'zundo';
import type { ApiClient, ConflictRecord, CredentialSummary, DryRunSide, EntityInspectionView, RunFilter, PassResult, RunLogEntry, RunRecord } from '../api/client';
import type { ApiIssue, CollectionDescription, FlowOverview, TriggerStatus, VersionSummary } from '../../runtime/api/schemas';
import type { CanvasEdge, CanvasFlow, CanvasNode, FlowMeta } from '../document/canvasDocument';
import type { RealSample } from '../../nodes/forms/types';
import type { NodeType } from '../../nodes';

/** An issue as the validator reports it (nodes/flow/issues.ts `FlowIssue`, the same shape the API sends). */
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

export type Drawer = 'issues' | 'runs' | 'dry-run' | 'conflicts' | 'record';
export type Dialog = 'import' | 'templates' | 'token' | 'credentials';

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
  /** Validates the flow on the canvas at once and shows the result: the issues the Issues panel lists, returned. */
  validateNow(): FlowIssue[];
  openDrawer(drawer: Drawer | null): void;
  openDialog(dialog: Dialog | null): void;
  setPaletteQuery(query: string): void;
}

// ---- runs slice: the runtime's view of this flow ---------------------------------------------------------------

export type Busy = 'deploy' | 'run' | 'dry-run' | 'runs' | 'conflicts' | 'pause' | 'delete' | null;

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
  /** The id under which the runtime stores this flow (what Run now and Resume run); null while it is only a draft. */
  savedId: string | null;
  /** The bytes the runtime stores for it, to know whether the canvas differs. */
  savedDocument: string | null;
  deployed: boolean;
  busy: Busy;
  apiError: string | null;
  /** Issues the runtime reported when it refused the flow (it also checks connections, which the editor cannot). */
  serverIssues: FlowIssue[] | null;
  lastRun: PassResult | null;
  dryRun: DryRunSide[] | null;
  runs: RunRecord[] | null;
  runFilter: RunFilter;
  /** The history has no runs older than those loaded (for this filter). */
  runsComplete: boolean;
  openRun: { run: RunRecord; log: RunLogEntry[] } | null;
  conflicts: ConflictRecord[] | null;
  /** Live counts of the open flow's trigger nodes, by node id, polled while the canvas shows it. */
  status: Record<string, TriggerStatus>;
  /** Open conflicts per conflict node of the open flow. */
  conflictStatus: Record<string, number>;
  /** The flow `status` and `conflictStatus` describe; null when none. */
  statusOf: string | null;
  described: Record<string, DescribeResult>;
}

export interface RunsSliceActions {
  probeServer(): Promise<void>;
  deploy(): Promise<boolean>;
  runNow(): Promise<void>;
  runDry(): Promise<void>;
  /** Loads the newest page of run history for `filter` (the current one when left out). */
  loadRuns(filter?: RunFilter): Promise<void>;
  /** Appends the next page of older runs. */
  loadOlderRuns(): Promise<void>;
  openRunLog(runId: string): Promise<void>;
  loadConflicts(): Promise<void>;
  resolveConflict(id: string, resolution: { side: string } | { value: unknown }): Promise<void>;
  pollStatus(): Promise<void>;
  describeTrigger(nodeId: string): Promise<void>;
  /** A real record of the trigger whose records reach the node, carried to its left side (the transform's "Try it"). */
  sampleRecord(nodeId: string): Promise<RealSample>;
}

// ---- inspector slice: one linked record of the open flow, explained ---------------------------------------------

export interface InspectorSliceState {
  /**
   * The record the inspector shows (drawer `record`): its flow and entity, the panel it was opened from (Back returns
   * there), and what the runtime answered (null while it loads), or why it could not.
   */
  inspected: { flowId: string; entityId: string; from: Drawer | null; view: EntityInspectionView | null; error: string | null } | null;
}

export interface InspectorSliceActions {
  /** Opens the record inspector on an entity of the open flow, from the panel `from`. */
  inspectRecord(entityId: string, from: Drawer | null): Promise<void>;
  /** Reads the inspected record again. */
  reloadInspection(): Promise<void>;
  /** Back to the panel the inspector was opened from. */
  closeInspection(): void;
  /** Resolves one of the inspected record's conflicts, then shows the record again. */
  resolveInspected(conflictId: string, resolution: { side: string } | { value: unknown }): Promise<void>;
}

// ---- flows slice: which flow is open, its draft and deployed version, the flow list ------------------------------
export type Screen = 'flows' | 'canvas';

/**
 * Where the canvas stands with the runtime: `idle` nothing to save since it was opened; `pending` changed, saving
 * soon; `saving`; `saved` the runtime holds it as the draft; `failed` it could not be saved (kept in this browser).
 */
export type DraftStatus = 'idle' | 'pending' | 'saving' | 'saved' | 'failed';

export interface ConfirmChoice {
  label: string;
  tone?: 'danger' | 'primary';
  run(): void;
}

/** A question put to the person before something that cannot be taken back. */
export interface ConfirmRequest {
  title: string;
  message: string;
  choices: ConfirmChoice[];
  cancelLabel: string;
}

export interface FlowsSliceState {
  screen: Screen;
  overview: FlowOverview[] | null;
  overviewError: string | null;
  draft: { status: DraftStatus; savedAt: string | null; error: string | null };
  /** The flow id the runtime keeps this canvas's draft under, once saved. */
  draftId: string | null;
  /** The canonical bytes of the last deployed version, and its number; null when never deployed. */
  deployedDocument: string | null;
  deployedVersion: number | null;
  /** The canvas differs from the last deployed version. Worked out when the draft saves, not on every frame. */
  changedSinceDeploy: boolean;
  versions: VersionSummary[] | null;
  confirm: ConfirmRequest | null;
}

export interface FlowsSliceActions {
  /** Shows the flow list (asking first if edits would be lost). */
  showFlows(): Promise<void>;
  loadOverview(): Promise<void>;
  /** Opens a flow: its draft when it has one, else what the runtime stores (asking first if edits would be lost). */
  openFlow(id: string): Promise<void>;
  /**
   * Opens a document as a new flow on the canvas: a template, an empty flow, an imported file. An id another flow
   * has is given a free one (`origin` "import" asks instead whether to make it that flow's new draft).
   */
  startFlow(document: unknown, origin: 'new' | 'import'): Promise<void>;
  /** Saves the canvas as the flow's draft now; true once the runtime holds it. */
  saveDraftNow(): Promise<boolean>;
  /** A content edit happened: the draft is saved shortly. */
  noteEdit(): void;
  /** Writes edits not yet saved to this browser's storage, synchronously (the page is going away). */
  keepUnsavedLocally(): void;
  pauseFlow(id?: string): Promise<void>;
  resumeFlow(id?: string): Promise<void>;
  /** Asks, then deletes a flow (or a flow that is only a draft) with its state, history, draft and versions. */
  deleteFlow(id: string): void;
  loadVersions(): Promise<void>;
  /** Puts a deployed version on the canvas as the draft (asking first when that replaces changes). */
  restoreVersion(version: number): Promise<void>;
  ask(request: ConfirmRequest): void;
  closeConfirm(): void;
  /**
   * Runs `action` at once when no edit can be lost; otherwise saves first, and asks when saving fails. `what` names
   * the action in the question ("start a new flow").
   */
  guardDiscard(what: string, action: () => void | Promise<void>): Promise<void>;
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

export type State = FlowSliceState & UiSliceState & RunsSliceState & FlowsSliceState & InspectorSliceState;
export type Actions = FlowSliceActions & UiSliceActions & RunsSliceActions & CredentialsSliceActions & FlowsSliceActions & InspectorSliceActions;
export type FlowStoreState = State & Actions;

/** What undo and redo restore: the graph only, never the UI or run state. */
export type HistoryState = Pick<FlowSliceState, 'nodes' | 'edges'>;

export type FlowStoreApi = StoreApi<FlowStoreState> & { temporal: StoreApi<TemporalState<HistoryState>> };

/** What the store needs from outside: the API, and the document functions of nodes/flow/. */
export interface StoreDeps {
  api: ApiClient;
  /** Every issue the runtime's validator finds in a document (unknown connectors only when the list is known). */
  validate(document: unknown, knownConnectors: readonly string[] | undefined): FlowIssue[];
  /** A document brought up to the current flow version, everything else kept as it is. */
  migrate(document: unknown): unknown;
  /** The exact bytes the runtime stores for a document. */
  serialize(document: unknown): string;
  /** Where edits the runtime has not confirmed wait, so a reload or a lost connection cannot lose them. */
  backup: DraftBackup;
}

/** Flow documents kept in the browser (localStorage) until the runtime holds them, by flow id. */
export interface DraftBackup {
  read(flowId: string): string | null;
  write(flowId: string, document: string): void;
  remove(flowId: string): void;
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
