import {
  Background,
  Controls,
  MiniMap,
  ReactFlow,
  useReactFlow,
  type Connection,
  type EdgeChange,
  type IsValidConnection,
  type NodeChange,
  type OnBeforeDelete,
} from '@xyflow/react';
import { useEffect, useMemo, useRef, type DragEvent, type RefObject } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { isNodeType } from '../../nodes';
import type { CanvasEdge, CanvasNode } from '../document/canvasDocument';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { canvasNodeTypes } from './nodeTypes';
import { PALETTE_MIME } from './Palette';

const DELETE_KEYS = ['Backspace', 'Delete'];
const PRO_OPTIONS = { hideAttribution: true };
const miniMapColour = (node: CanvasNode) => `var(--sl-${isNodeType(node.data.type) ? node.data.type : 'unknown'})`;
/** How a whole flow is fitted: never enlarged past its natural size, with room for the zoom controls beside it. */
const FIT = { maxZoom: 1, padding: 0.08 };
/** The zoom controls' corner (bottom left, React Flow's default), which a node must not sit under. */
const CONTROLS_BOX = { width: 56, height: 150 };

/**
 * When the canvas shrinks (a panel opens below it, the window narrows) so that a node it showed is now out of sight
 * or under the zoom controls, the whole flow is fitted again: a node out of sight is a node a person cannot reach.
 * A view the person panned or zoomed away from some nodes is theirs, and is left alone.
 */
function useKeepNodesInView(container: RefObject<HTMLDivElement | null>) {
  const { getNodes, getViewport, fitView } = useReactFlow<CanvasNode, CanvasEdge>();
  useEffect(() => {
    const element = container.current;
    if (!element) return;
    let frame = 0;
    let previous: { width: number; height: number } | null = null;
    const allInView = (size: { width: number; height: number }) => {
      const { x, y, zoom } = getViewport();
      return getNodes().every((node) => {
        const w = (node.measured?.width ?? 200) * zoom;
        const h = (node.measured?.height ?? 70) * zoom;
        const left = node.position.x * zoom + x;
        const top = node.position.y * zoom + y;
        const inside = left >= 0 && top >= 0 && left + w <= size.width && top + h <= size.height;
        const underControls = left < CONTROLS_BOX.width && top + h > size.height - CONTROLS_BOX.height;
        return inside && !underControls;
      });
    };
    const check = () => {
      frame = 0;
      const { width, height } = element.getBoundingClientRect();
      const before = previous;
      previous = { width, height };
      if (before && (width < before.width || height < before.height) && allInView(before) && !allInView(previous)) void fitView(FIT);
    };
    const observer = new ResizeObserver(() => {
      if (frame === 0) frame = requestAnimationFrame(check);
    });
    observer.observe(element);
    return () => {
      observer.disconnect();
      cancelAnimationFrame(frame);
    };
  }, [container, getNodes, getViewport, fitView]);
}

// Self-loops are refused while dragging; the graph rules (with their reasons) are checked on connect.
const notSelf: IsValidConnection<CanvasEdge> = (connection) => connection.source !== connection.target;

/** The React Flow canvas: shows the store's nodes and edges and turns every gesture into a store action. */
export function Canvas() {
  const { nodes, edges } = useFlowStore(useShallow((state) => ({ nodes: state.nodes, edges: state.edges })));
  const store = useFlowStoreApi();
  const { screenToFlowPosition, fitView } = useReactFlow();
  const viewRevision = useFlowStore((state) => state.viewRevision);
  const dragging = useFlowStore((state) => state.dragging);
  // With a panel open under the canvas the map would sit on the nodes; the panel's height is the canvas's loss.
  const drawerOpen = useFlowStore((state) => state.drawer !== null);
  const container = useRef<HTMLDivElement>(null);
  useEffect(() => {
    // Only a whole new flow is fitted into view (React Flow queues this until its nodes are measured); adding
    // the first node to an empty canvas must not move the view under the person's hand.
    if (viewRevision > 0) void fitView(FIT);
  }, [viewRevision, fitView]);
  useKeepNodesInView(container);

  const handlers = useMemo(
    () => ({
      onNodesChange: (changes: NodeChange<CanvasNode>[]) => store.getState().applyNodeChanges(changes),
      onEdgesChange: (changes: EdgeChange<CanvasEdge>[]) => store.getState().applyEdgeChanges(changes),
      onConnect: (connection: Connection) => {
        store.getState().connect(connection);
      },
      // Deleting goes through one store action so a node and its edges come back together on undo.
      onBeforeDelete: (async ({ nodes: goneNodes, edges: goneEdges }) => {
        store.getState().deleteElements(
          goneNodes.map((node) => node.id),
          goneEdges.map((edge) => edge.id),
        );
        return false;
      }) satisfies OnBeforeDelete<CanvasNode, CanvasEdge>,
      onNodeDragStart: () => store.getState().beginDrag(),
      onNodeDragStop: () => store.getState().endDrag(),
      onDragOver: (event: DragEvent) => {
        if (event.dataTransfer.types.includes(PALETTE_MIME)) {
          event.preventDefault();
          event.dataTransfer.dropEffect = 'copy';
        }
      },
    }),
    [store],
  );

  const onDrop = (event: DragEvent) => {
    const type = event.dataTransfer.getData(PALETTE_MIME);
    if (!isNodeType(type)) return;
    event.preventDefault();
    const position = screenToFlowPosition({ x: event.clientX, y: event.clientY });
    // Drop the node so the pointer sits near its top-left corner, where the person aimed.
    store.getState().addNode(type, { x: Math.round(position.x - 20), y: Math.round(position.y - 20) });
  };

  return (
    <div ref={container} className={dragging ? 'sl-canvas sl-canvas--dragging' : 'sl-canvas'} onDragOver={handlers.onDragOver} onDrop={onDrop}>
      <ReactFlow<CanvasNode, CanvasEdge>
        nodes={nodes}
        edges={edges}
        nodeTypes={canvasNodeTypes}
        onNodesChange={handlers.onNodesChange}
        onEdgesChange={handlers.onEdgesChange}
        onConnect={handlers.onConnect}
        onBeforeDelete={handlers.onBeforeDelete}
        onNodeDragStart={handlers.onNodeDragStart}
        onNodeDragStop={handlers.onNodeDragStop}
        isValidConnection={notSelf}
        deleteKeyCode={DELETE_KEYS}
        minZoom={0.05}
        maxZoom={2}
        proOptions={PRO_OPTIONS}
      >
        <Background gap={16} />
        {drawerOpen ? null : <MiniMap<CanvasNode> pannable zoomable nodeColor={miniMapColour} ariaLabel="Mini map" />}
        <Controls aria-label="Zoom controls" />
      </ReactFlow>
    </div>
  );
}
