import { canvasIssues, documentFromCanvas } from '../document/canvasDocument';
import type { FlowIssue, SliceContext, UiSliceActions, UiSliceState } from './types';

/** Groups issues by the node they name, so each canvas node subscribes to its own list only. */
export function groupIssuesByNode(issues: FlowIssue[]): Record<string, FlowIssue[]> {
  const byNode: Record<string, FlowIssue[]> = {};
  for (const issue of issues) {
    if (issue.nodeId === undefined) continue;
    (byNode[issue.nodeId] ??= []).push(issue);
  }
  return byNode;
}

/** The UI slice: notices, validation results, open panels and dialogs, the clipboard. */
export function createUiSlice({ set, get, deps }: SliceContext): UiSliceState & UiSliceActions {
  return {
    notice: null,
    issues: [],
    issuesByNode: {},
    validatedRevision: 0,
    drawer: null,
    dialog: null,
    viewRevision: 0,
    dragging: false,
    paletteQuery: '',
    clipboard: null,

    notify: (tone, text) => set({ notice: { tone, text, serial: (get().notice?.serial ?? 0) + 1 } }),
    dismissNotice: () => set({ notice: null }),
    setIssues: (issues) => {
      const previous = get().issuesByNode;
      const grouped = groupIssuesByNode(issues);
      // Keep the previous array for a node whose issues did not change, so its badge does not re-render.
      for (const [nodeId, list] of Object.entries(grouped)) {
        const before = previous[nodeId];
        if (before && before.length === list.length && before.every((issue, i) => sameIssue(issue, list[i] as FlowIssue))) {
          grouped[nodeId] = before;
        }
      }
      set({ issues, issuesByNode: grouped, validatedRevision: get().validatedRevision + 1 });
    },
    validateNow: () => {
      const state = get();
      let issues: FlowIssue[];
      try {
        // What reading the file changed first: the validator sees only the document the canvas writes.
        issues = [...canvasIssues(state.nodes), ...deps.validate(documentFromCanvas(state), state.server.connectors?.map((connector) => connector.type))];
      } catch (error) {
        issues = [{ path: '', message: `the validator failed: ${error instanceof Error ? error.message : String(error)}`, severity: 'error' }];
      }
      get().setIssues(issues);
      return issues;
    },
    openDrawer: (drawer) => set({ drawer }),
    openDialog: (dialog) => set({ dialog }),
    setPaletteQuery: (paletteQuery) => set({ paletteQuery }),
  };
}

const sameIssue = (a: FlowIssue, b: FlowIssue) =>
  a.path === b.path && a.message === b.message && a.severity === b.severity && a.nodeId === b.nodeId && a.edgeId === b.edgeId;
