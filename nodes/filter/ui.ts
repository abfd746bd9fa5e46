import type { NodeUi } from '../forms/types';
import FilterForm from './Form';

/** How the editor shows a filter node: its form, and its glyph (a funnel). */
export const filterUi = {
  Form: FilterForm,
  glyph: '<path d="M3 5h18l-7 8v6l-4 2v-8z"/>',
} satisfies NodeUi;
