import { temporal } from 'zundo';
import { createStore } from 'zustand';
import { emptyFlow, type CanvasFlow } from '../document/canvasDocument';
import { createCredentialsSlice } from './credentialsSlice';
import { createFlowSlice } from './flowSlice';
import { createFlowsSlice } from './flowsSlice';
import { createInspectorSlice } from './inspectorSlice';
import { createRunsSlice } from './runsSlice';
import type { FlowStoreApi, FlowStoreState, HistoryControl, HistoryState, SliceContext, StoreDeps } from './types';
import { createUiSlice } from './uiSlice';

const HISTORY_LIMIT = 200;
const COALESCE_MS = 1000;
const VALIDATE_DEBOUNCE_MS = 200;

/**
 * Two graphs are the same undo step when they differ only in what React Flow keeps for itself (selection,
 * measured size, dragging): selecting a node is not an edit.
 */
export function sameGraph(a: Partial<HistoryState>, b: Partial<HistoryState>): boolean {
  if (a.nodes !== b.nodes) {
    if (!a.nodes || !b.nodes || a.nodes.length !== b.nodes.length) return false;
    for (let i = 0; i < a.nodes.length; i += 1) {
      const x = a.nodes[i];
      const y = b.nodes[i];
      if (x === y) continue;
      if (!x || !y || x.id !== y.id || x.data !== y.data || x.position.x !== y.position.x || x.position.y !== y.position.y) return false;
    }
  }
  if (a.edges !== b.edges) {
    if (!a.edges || !b.edges || a.edges.length !== b.edges.length) return false;
    for (let i = 0; i < a.edges.length; i += 1) {
      const x = a.edges[i];
      const y = b.edges[i];
      if (x === y) continue;
      if (!x || !y || x.id !== y.id || x.source !== y.source || x.target !== y.target || x.data !== y.data) return false;
    }
  }
  return true;
}

/** True when validation could see a difference: anything but positions and selection. */
function sameContent(a: FlowStoreState, b: FlowStoreState): boolean {
  if (a.meta !== b.meta) return false;
  if (a.edges !== b.edges && !sameGraph({ edges: a.edges }, { edges: b.edges })) return false;
  if (a.nodes === b.nodes) return true;
  if (a.nodes.length !== b.nodes.length) return false;
  return a.nodes.every((node, i) => {
    const other = b.nodes[i];
    return other !== undefined && node.id === other.id && node.data === other.data;
  });
}

/**
 * Builds the editor's one store: flow, UI and runs slices combined, with undo and redo (zundo) over the nodes and
 * edges only. A drag is one undo step and so is a burst of typing in one field; validation follows every content
 * change, debounced.
 */
export function createFlowStore(initial: CanvasFlow = emptyFlow(), deps: StoreDeps): FlowStoreApi {
  // Mutable bookkeeping for history grouping: it decides which sets become undo steps and is never rendered.
  const grouping = { dragging: false, recordedThisDrag: false, pendingKey: null as string | null, lastKey: null as string | null, lastAt: 0 };
  let clearHistory = () => {};

  const history: HistoryControl = {
    beginDrag: () => {
      grouping.dragging = true;
      grouping.recordedThisDrag = false;
    },
    endDrag: () => {
      grouping.dragging = false;
      grouping.lastKey = null;
    },
    coalesce: (key, apply) => {
      grouping.pendingKey = key;
      try {
        return apply();
      } finally {
        grouping.pendingKey = null;
      }
    },
    clear: () => clearHistory(),
  };

  const store = createStore<FlowStoreState>()(
    temporal(
      (set, get) => {
        const context: SliceContext = { set, get, deps, history };
        return {
          ...createFlowSlice({ meta: initial.meta, nodes: initial.nodes, edges: initial.edges }, context),
          ...createUiSlice(context),
          ...createRunsSlice(context),
          ...createCredentialsSlice(context),
          ...createFlowsSlice(context),
          ...createInspectorSlice(context),
        };
      },
      {
        partialize: (state): HistoryState => ({ nodes: state.nodes, edges: state.edges }),
        equality: sameGraph,
        limit: HISTORY_LIMIT,
        handleSet: (record) => (pastState, replace, currentState, deltaState) => {
          if (grouping.dragging) {
            // Only the position before the drag is worth returning to.
            if (grouping.recordedThisDrag) return;
            grouping.recordedThisDrag = true;
          } else if (grouping.pendingKey !== null) {
            const now = Date.now();
            const continues = grouping.pendingKey === grouping.lastKey && now - grouping.lastAt < COALESCE_MS;
            grouping.lastKey = grouping.pendingKey;
            grouping.lastAt = now;
            if (continues) return;
          } else {
            grouping.lastKey = null;
          }
          // zundo types this callback as setState, but it is its internal recorder, which takes all four arguments.
          (record as unknown as (...args: unknown[]) => void)(pastState, replace, currentState, deltaState);
        },
      },
    ),
  ) as FlowStoreApi;
  clearHistory = () => store.temporal.getState().clear();

  let timer: ReturnType<typeof setTimeout> | undefined;
  const validateNow = () => {
    timer = undefined;
    store.getState().validateNow();
  };
  const scheduleValidation = (delay = VALIDATE_DEBOUNCE_MS) => {
    if (timer !== undefined) clearTimeout(timer);
    timer = setTimeout(validateNow, delay);
  };
  store.subscribe((state, previous) => {
    if (state.viewRevision !== previous.viewRevision) {
      // A whole new flow: the previous flow's issues go at once, and the new ones come right after it is drawn.
      state.setIssues([]);
      scheduleValidation(0);
    } else {
      if (!sameContent(state, previous) || state.server.connectors !== previous.server.connectors) {
        // A newly known connector list can turn a connector name valid or invalid.
        scheduleValidation();
      }
      // Positions are part of the document too: a moved node is saved in the draft like a changed setting.
      if (state.screen === 'canvas' && previous.screen === 'canvas' && (state.meta !== previous.meta || !sameGraph(state, previous))) state.noteEdit();
    }
  });
  validateNow();
  return store;
}
