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
import { Splitter, useKeptSize, useRenderedSize } from './panels/Splitter';
import { useKeyboardShortcuts } from './shortcuts';
import { FlowStoreProvider, useFlowStore, useFlowStoreApi } from './store/context';
import type { FlowStoreApi } from './store/types';
import { Toolbar } from './Toolbar';

const STATUS_POLL_MS = 3000;

/** The side panel's width at its narrowest, and what the canvas keeps beside it at its widest (with the palette). */
const SIDE_PANEL_MIN_WIDTH = 260;
const CANVAS_MIN_WIDTH = 380;
const PALETTE_WIDTH = 140;

/** The side panel with the line before it that sizes it; its width is the person's, kept across reloads. */
function SidePanelFrame({ available }: { available: number }) {
  const [kept, keep] = useKeptSize('sidePanelWidth');
  const [rendered, frame] = useRenderedSize('width');
  const max = Math.max(SIDE_PANEL_MIN_WIDTH, available - PALETTE_WIDTH - CANVAS_MIN_WIDTH);
  const width = kept === null ? rendered : Math.min(kept, max);
  return (
    <div ref={frame} id="sl-sidebar" className="sl-sidebar" style={kept === null ? undefined : { width }}>
      <Splitter label="Resize the settings panel" controls="sl-sidebar" orientation="vertical" value={width} min={SIDE_PANEL_MIN_WIDTH} max={max} onResize={keep} />
      <SidePanel />
    </div>
  );
}

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
  const [width, main] = useRenderedSize('width');
  const [height, centre] = useRenderedSize('height');
  return (
    <div className="sl-app">
      <Toolbar />
      <NoticeBar />
      <main ref={main} className="sl-main" aria-label="Flow editor">
        <Palette />
        <div ref={centre} className="sl-centre">
          <Canvas />
          <Drawer available={height} />
          <StatusBar />
        </div>
        <SidePanelFrame available={width} />
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
