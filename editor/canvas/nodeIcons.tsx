import type { CSSProperties } from 'react';

// Simple line glyphs so the node type reads at a glance even when zoomed out. They are CSS masks rather than
// inline SVG: an inline SVG per node is a paint chunk of its own, and with hundreds of nodes the browser spends
// most of each drag frame deciding how to composite them.
const glyphs: Record<string, string> = {
  trigger: '<ellipse cx="12" cy="6" rx="7" ry="3"/><path d="M5 6v12c0 1.7 3.1 3 7 3s7-1.3 7-3V6"/><path d="M5 12c0 1.7 3.1 3 7 3s7-1.3 7-3"/>',
  transform: '<path d="M4 7h11l-3-3M20 17H9l3 3"/>',
  mapping: '<path d="M4 6h4M4 12h4M4 18h4M16 6h4M16 12h4M16 18h4"/><path d="M8 6l8 6M8 12l8-6M8 18h8"/>',
  conflict: '<path d="M4 5l7 7-7 7M20 5l-7 7 7 7"/>',
  filter: '<path d="M3 5h18l-7 8v6l-4 2v-8z"/>',
  unknown: '<circle cx="12" cy="12" r="9"/><path d="M9.5 9.5a2.5 2.5 0 1 1 3.5 2.3c-.6.3-1 .9-1 1.6V14M12 17.5v.01"/>',
};

const masks: Record<string, string> = Object.fromEntries(
  Object.entries(glyphs).map(([type, glyph]) => [
    type,
    `url("data:image/svg+xml,${encodeURIComponent(
      `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 24 24" fill="none" stroke="black" stroke-width="2" stroke-linecap="round" stroke-linejoin="round">${glyph}</svg>`,
    )}")`,
  ]),
);

/** The icon of a node type (a question mark for types the editor does not know), drawn in the current text colour. */
export function NodeIcon({ type, size = 16 }: { type: string; size?: number }) {
  const mask = masks[type] ?? masks.unknown;
  const style: CSSProperties = { width: size, height: size, maskImage: mask, WebkitMaskImage: mask };
  return <span className="sl-icon" style={style} aria-hidden="true" />;
}
