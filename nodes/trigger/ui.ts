import type { NodeUi } from '../forms/types';
import TriggerForm from './Form';

/** How the editor shows a trigger node: its form, and its glyph (a database: where records come from and go to). */
export const triggerUi = {
  Form: TriggerForm,
  glyph: '<ellipse cx="12" cy="6" rx="7" ry="3"/><path d="M5 6v12c0 1.7 3.1 3 7 3s7-1.3 7-3V6"/><path d="M5 12c0 1.7 3.1 3 7 3s7-1.3 7-3"/>',
  showsCollections: true,
} satisfies NodeUi;
