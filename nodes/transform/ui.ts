import type { NodeUi } from '../forms/types';
import TransformForm from './Form';

/** How the editor shows a transform node: its form, and its glyph (two arrows turning a field into another). */
export const transformUi = {
  Form: TransformForm,
  glyph: '<path d="M4 7h11l-3-3M20 17H9l3 3"/>',
} satisfies NodeUi;
