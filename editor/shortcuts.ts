import { useEffect } from 'react';
import type { FlowStoreApi } from './store/types';

/** True when a key press belongs to a text control, whose own undo, copy and paste must keep working. */
function typingIn(target: EventTarget | null): boolean {
  if (!(target instanceof HTMLElement)) return false;
  return target.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(target.tagName);
}

/** Ctrl/Cmd+Z undo, Ctrl/Cmd+Shift+Z or Ctrl+Y redo, Ctrl/Cmd+C copy, Ctrl/Cmd+V paste, Ctrl/Cmd+A select all. */
export function useKeyboardShortcuts(store: FlowStoreApi): void {
  useEffect(() => {
    const onKeyDown = (event: KeyboardEvent) => {
      if (!(event.ctrlKey || event.metaKey) || event.altKey || typingIn(event.target)) return;
      if (store.getState().dialog !== null) return;
      const key = event.key.toLowerCase();
      const history = store.temporal.getState();
      if (key === 'z' && !event.shiftKey) history.undo();
      else if ((key === 'z' && event.shiftKey) || key === 'y') history.redo();
      else if (key === 'c') store.getState().copySelection();
      else if (key === 'v') store.getState().paste();
      else if (key === 'a') store.getState().selectOnly(store.getState().nodes.map((node) => node.id));
      else return;
      event.preventDefault();
    };
    window.addEventListener('keydown', onKeyDown);
    return () => window.removeEventListener('keydown', onKeyDown);
  }, [store]);
}
