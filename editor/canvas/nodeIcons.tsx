import type { CSSProperties } from 'react';
import { nodeUi } from '../../nodes/ui';

// The glyph of a type the editor does not know.
const unknownGlyph = '<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14M12 17.5v.01"/>';

// Each node folder's glyph as a CSS mask rather than inline SVG: an inline SVG per node is a paint chunk of its own,
// and with hundreds of nodes the browser spends most of each drag frame deciding how to composite them.
const mask = (glyph: string) =>
  `url("data:image/svg+xml,${encodeURIComponent(
    `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="black" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${glyph}</svg>`,
  )}")`;
const masks = new Map<string, string>(Object.entries(nodeUi).map(([type, ui]) => [type, mask(ui.glyph)]));
const unknownMask = mask(unknownGlyph);

/** The icon of a node type (a question mark for types the editor does not know), drawn in the current text colour. */
export function NodeIcon({ type, size = 16 }: { type: string; size?: number }) {
  const maskImage = masks.get(type) ?? unknownMask;
  const style: CSSProperties = { width: size, height: size, maskImage, WebkitMaskImage: maskImage };
  return <span className="sl-icon" style={style} aria-hidden="true" />;
}
