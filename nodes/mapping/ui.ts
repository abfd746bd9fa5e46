import type { NodeUi } from '../forms/types';
import MappingForm from './Form';

/** How the editor shows a mapping node: its form, and its glyph (fields on the left paired with fields on the right). */
export const mappingUi = {
  Form: MappingForm,
  glyph: '<path d="M4 6h4M4 12h4M4 18h4M16 6h4M16 12h4M16 18h4"/><path d="M8 6l8 6M8 12l8-6M8 18h8"/>',
  showsSideFields: true,
} satisfies NodeUi;
