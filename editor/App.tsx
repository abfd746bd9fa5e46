import { ReactFlowProvider } from '@xyflow/react';
import { useEffect } from 'react';
import { Canvas } from './canvas/Canvas';
import { Palette } from './canvas/Palette';
import { CredentialsDialog } from './panels/CredentialsPanel';
import { ConfirmDialog, ImportDialog, TemplatesDialog, TokenDialog } from './panels/Dialogs';
import { Drawer, StatusBar } from './panels/Drawer';
import { FlowList } from './panels/FlowList';
import { FlowPanel } from './panels/FlowPanel';
import { NodePanel } from './panels/NodePanel';
import { NoticeBar } from './panels/NoticeBar';
import { useKeyboardShortcuts } from './shortcuts';
import { FlowStoreProvider, useFlowStore, useFlowStoreApi } from './store/context';
import type { FlowStoreApi } from './store/types';
import { Toolbar } from './Toolbar';

const STATUS_POLL_MS = 3000;

/** The side panel: the selected node's settings, or the flow's when zero or several nodes are selected. */
function SidePanel() {
  // One string, so the panel re-renders when the selection changes and not on every drag frame.
  const selection = useFlowStore((state) => {
    let count = 0;
    let id = '';
    for (const node of state.nodes) {
      if (node.selected) {
        count += 1;
        id = node.id;
      }
    }
    return count === 1 ? `1:${id}` : `${count}:`;
  });
  const [count, id] = [Number(selection.slice(0, selection.indexOf(':'))), selection.slice(selection.indexOf(':') + 1)];
  return count === 1 ? <NodePanel key={id} nodeId={id} /> : <FlowPanel selectedCount={count} />;
}

function Dialogs() {
  const dialog = useFlowStore((state) => state.dialog);
  if (dialog === 'import') return <ImportDialog />;
  if (dialog === 'templates') return <TemplatesDialog />;
  if (dialog === 'token') return <TokenDialog />;
  if (dialog === 'credentials') return <CredentialsDialog />;
  return null;
}

/** Polls the runtime while the editor is open: the flow list's states and counts, and the open flow's triggers. */
function useStatusPolling() {
  const store = useFlowStoreApi();
  const screen = useFlowStore((state) => state.screen);
  const savedId = useFlowStore((state) => state.savedId);
  useEffect(() => {
    const poll = () => {
      void store.getState().loadOverview();
      if (screen === 'canvas' && savedId) void store.getState().pollStatus();
    };
    poll();
    const timer = setInterval(poll, STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [store, screen, savedId]);
}

/** The canvas screen: the open flow, its palette, settings and panels. */
function CanvasScreen() {
  const store = useFlowStoreApi();
  useKeyboardShortcuts(store);
  return (
    <div className="sl-app">
      <Toolbar />
      <NoticeBar />
      <main className="sl-main" aria-label="Flow editor">
        <Palette />
        <div className="sl-centre">
          <Canvas />
          <Drawer />
          <StatusBar />
        </div>
        <SidePanel />
      </main>
    </div>
  );
}

function Layout() {
  const screen = useFlowStore((state) => state.screen);
  useStatusPolling();
  return (
    <>
      {screen === 'flows' ? <FlowList /> : <CanvasScreen />}
      <Dialogs />
      <ConfirmDialog />
    </>
  );
}

/** The editor: one flow store for everything below, and React Flow's provider for the canvas and its helpers. */
export function App({ store }: { store: FlowStoreApi }) {
  return (
    <FlowStoreProvider store={store}>
      <ReactFlowProvider>
        <Layout />
      </ReactFlowProvider>
    </FlowStoreProvider>
  );
}
