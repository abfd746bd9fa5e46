import type { NodeUi } from '../forms/types';
import ConflictForm from './Form';

/** How the editor shows a conflict node: its form, and its glyph (two sides meeting). */
export const conflictUi = {
  Form: ConflictForm,
  glyph: '<path d="M4 5l7 7-7 7M20 5l-7 7 7 7"/>',
  showsSideFields: true,
} satisfies NodeUi;
