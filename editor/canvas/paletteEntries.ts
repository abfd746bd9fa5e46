import type { NodeDefinition } from '../../nodes/types';

/** One node type as the palette offers it. */
export interface PaletteEntry<Type extends string = string> {
  type: Type;
  title: string;
  description: string;
}

/** The node types of `registry` the palette shows for a search: those whose title, type or description holds it. */
export function paletteEntries<Type extends string>(registry: Readonly<Record<Type, NodeDefinition>>, query: string): PaletteEntry<Type>[] {
  const needle = query.trim().toLowerCase();
  return (Object.keys(registry) as Type[])
    .map((type) => ({ type, title: registry[type].title, description: registry[type].description }))
    .filter((entry) => needle === '' || `${entry.title} ${registry[entry.type].type} ${entry.description}`.toLowerCase().includes(needle));
}
