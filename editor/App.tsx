import { ReactFlowProvider } from '@xyflow/react';
import { useEffect } from 'react';
import { Canvas } from './canvas/Canvas';
import { Palette } from './canvas/Palette';
import { CredentialsDialog } from './panels/CredentialsPanel';
import { ImportDialog, OpenDialog, TemplatesDialog, TokenDialog } from './panels/Dialogs';
import { Drawer, StatusBar } from './panels/Drawer';
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
  if (dialog === 'open') return <OpenDialog />;
  if (dialog === 'token') return <TokenDialog />;
  if (dialog === 'credentials') return <CredentialsDialog />;
  return null;
}

/** Polls the runtime for live trigger status while the flow is saved there. */
function useStatusPolling() {
  const store = useFlowStoreApi();
  const savedId = useFlowStore((state) => state.savedId);
  useEffect(() => {
    if (!savedId) return;
    void store.getState().pollStatus();
    const timer = setInterval(() => void store.getState().pollStatus(), STATUS_POLL_MS);
    return () => clearInterval(timer);
  }, [store, savedId]);
}

function Layout() {
  const store = useFlowStoreApi();
  useKeyboardShortcuts(store);
  useStatusPolling();
  return (
    <div className="sl-app">
      <Toolbar />
      <NoticeBar />
      <div className="sl-main">
        <Palette />
        <div className="sl-centre">
          <Canvas />
          <Drawer />
          <StatusBar />
        </div>
        <SidePanel />
      </div>
      <Dialogs />
    </div>
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
