import { useReactFlow } from '@xyflow/react';
import type { DragEvent } from 'react';
import { nodeRegistry, type NodeType } from '../../nodes';
import { useFlowStore, useFlowStoreApi } from '../store/context';
import { NodeIcon } from './nodeIcons';
import { paletteEntries } from './paletteEntries';

/** The drag-and-drop payload type, so a drop of anything else (a file, text) is ignored by the canvas. */
export const PALETTE_MIME = 'application/x-syncline-node';

/** The palette: one button per node type, filtered by a search box; drag one onto the canvas or click to add it. */
export function Palette() {
  const query = useFlowStore((state) => state.paletteQuery);
  const store = useFlowStoreApi();
  const { screenToFlowPosition } = useReactFlow();
  const shown = paletteEntries(nodeRegistry, query);

  const addAtCentre = (type: NodeType) => {
    const pane = document.querySelector('.react-flow')?.getBoundingClientRect();
    const centre = pane
      ? screenToFlowPosition({ x: pane.left + pane.width / 2, y: pane.top + pane.height / 2 })
      : { x: 0, y: 0 };
    // Successive clicks place nodes side by side, never on top of one another (their handles would be hidden).
    const taken = store.getState().nodes.map((node) => node.position);
    const spot = { x: Math.round(centre.x - 100), y: Math.round(centre.y - 40) };
    for (let tries = 0; tries < 50 && taken.some((at) => Math.abs(at.x - spot.x) < 230 && Math.abs(at.y - spot.y) < 110); tries += 1) {
      spot.x += 240;
      if (tries % 5 === 4) {
        spot.x -= 240 * 5;
        spot.y += 130;
      }
    }
    store.getState().addNode(type, spot);
  };

  const onDragStart = (event: DragEvent<HTMLButtonElement>, type: NodeType) => {
    event.dataTransfer.setData(PALETTE_MIME, type);
    event.dataTransfer.effectAllowed = 'copy';
  };

  return (
    <nav className="sl-palette" aria-label="Node types">
      <input
        className="sl-palette__search"
        type="search"
        aria-label="Search node types"
        placeholder="Search node types"
        value={query}
        onChange={(event) => store.getState().setPaletteQuery(event.target.value)}
      />
      <ul>
        {shown.map(({ type, title, description }) => (
          <li key={type}>
            <button
              type="button"
              className={`sl-palette__item sl-palette__item--${type}`}
              draggable
              onDragStart={(event) => onDragStart(event, type)}
              onClick={() => addAtCentre(type)}
              title={`${description} Drag onto the canvas, or click to add.`}
            >
              <NodeIcon type={type} />
              {title}
            </button>
          </li>
        ))}
        {shown.length === 0 ? <li className="sl-muted">No node type matches “{query}”.</li> : null}
      </ul>
    </nav>
  );
}
