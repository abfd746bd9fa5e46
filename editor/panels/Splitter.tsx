import { useCallback, useEffect, useState, type KeyboardEvent, type PointerEvent } from 'react';

/** Where the editor keeps panel sizes a person chose, so a reload opens the panels as they were left. */
const STORAGE_PREFIX = 'syncline.layout.';

function readSize(key: string): number | null {
  try {
    const value = Number(localStorage.getItem(STORAGE_PREFIX + key));
    return Number.isFinite(value) && value > 0 ? value : null;
  } catch {
    return null;
  }
}

/** A panel size in pixels, kept in this browser across reloads; null until the person sizes the panel. */
export function useKeptSize(key: string): [number | null, (size: number) => void] {
  const [size, setSize] = useState(() => readSize(key));
  const keep = useCallback(
    (next: number) => {
      const rounded = Math.round(next);
      setSize(rounded);
      try {
        localStorage.setItem(STORAGE_PREFIX + key, String(rounded));
      } catch {
        // Storage full or refused: the size still holds until the page is left.
      }
    },
    [key],
  );
  return [size, keep];
}

/**
 * The rendered size of an element along one axis, followed as it changes (the window, the other panels); give the
 * callback as the element's `ref`. 0 while no element is rendered.
 */
export function useRenderedSize(axis: 'width' | 'height'): [number, (element: HTMLElement | null) => void] {
  const [element, setElement] = useState<HTMLElement | null>(null);
  const [size, setSize] = useState(0);
  useEffect(() => {
    if (!element) return;
    const measure = () => setSize(Math.round(element.getBoundingClientRect()[axis]));
    measure();
    const observer = new ResizeObserver(measure);
    observer.observe(element);
    return () => observer.disconnect();
  }, [element, axis]);
  return [size, setElement];
}

const KEY_STEP = 24;

export interface SplitterProps {
  /** What is resized, for its accessible name: "Resize the run history panel". */
  label: string;
  /** The id of the panel it sizes. */
  controls: string;
  /** `horizontal`: a line across, moved up and down (a panel below); `vertical`: a line down, moved sideways (a panel beside). */
  orientation: 'horizontal' | 'vertical';
  /** The panel's size now, and the bounds it is kept within (the canvas and its controls keep the rest). */
  value: number;
  min: number;
  max: number;
  onResize(size: number): void;
}

/**
 * The line between the canvas and a panel, dragged to size the panel, or focused and moved with the arrow keys (Home
 * and End for the smallest and largest): WAI-ARIA's window splitter. The panel lies below the line or to its right,
 * so moving the line up or left makes the panel larger.
 */
export function Splitter({ label, controls, orientation, value, min, max, onResize }: SplitterProps) {
  const clamp = (size: number) => Math.min(Math.max(size, min), Math.max(min, max));
  const onPointerDown = (event: PointerEvent<HTMLDivElement>) => {
    if (event.button !== 0) return;
    event.preventDefault();
    const handle = event.currentTarget;
    handle.setPointerCapture(event.pointerId);
    const start = orientation === 'horizontal' ? event.clientY : event.clientX;
    const startSize = value;
    const move = (moved: globalThis.PointerEvent) => onResize(clamp(startSize - ((orientation === 'horizontal' ? moved.clientY : moved.clientX) - start)));
    const end = () => {
      handle.removeEventListener('pointermove', move);
      handle.removeEventListener('pointerup', end);
      handle.removeEventListener('pointercancel', end);
    };
    handle.addEventListener('pointermove', move);
    handle.addEventListener('pointerup', end);
    handle.addEventListener('pointercancel', end);
  };
  const onKeyDown = (event: KeyboardEvent<HTMLDivElement>) => {
    const larger = orientation === 'horizontal' ? 'ArrowUp' : 'ArrowLeft';
    const smaller = orientation === 'horizontal' ? 'ArrowDown' : 'ArrowRight';
    let next: number | null = null;
    if (event.key === larger) next = value + KEY_STEP;
    else if (event.key === smaller) next = value - KEY_STEP;
    else if (event.key === 'Home') next = min;
    else if (event.key === 'End') next = max;
    if (next === null) return;
    event.preventDefault();
    onResize(clamp(next));
  };
  return (
    <div
      className={`sl-splitter sl-splitter--${orientation}`}
      role="separator"
      tabIndex={0}
      aria-label={label}
      aria-controls={controls}
      aria-orientation={orientation}
      aria-valuenow={Math.round(value)}
      aria-valuemin={Math.round(min)}
      aria-valuemax={Math.round(Math.max(min, max))}
      onPointerDown={onPointerDown}
      onKeyDown={onKeyDown}
    />
  );
}
