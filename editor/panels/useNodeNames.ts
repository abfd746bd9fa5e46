import { useShallow } from 'zustand/react/shallow';
import { useFlowStore } from '../store/context';

/** Node id to the name a person knows it by (its label, else its id); stable while labels do not change. */
export function useNodeNames(): Record<string, string> {
  return useFlowStore(useShallow((state) => Object.fromEntries(state.nodes.map((node) => [node.id, node.data.label ?? node.id]))));
}
