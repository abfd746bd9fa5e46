import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { Drawer as DrawerKind } from '../store/types';
import { IssuesPanel } from './IssuesPanel';
import { RecordInspector } from './RecordInspector';
import { ConflictsPanel, DryRunPanel, RunsPanel } from './RunPanels';
import { Splitter, useKeptSize, useRenderedSize } from './Splitter';

const titles: Record<DrawerKind, string> = { issues: 'Issues', 'dry-run': 'Dry run', runs: 'Run history', conflicts: 'Conflicts inbox', record: 'Record inspector' };

const DRAWER_MIN_HEIGHT = 120;
/**
 * What the canvas keeps above the panel at its largest: its zoom controls (bottom left, about 130 px) and a row of
 * nodes above them. The status bar under the panel takes its own 40.
 */
export const CANVAS_MIN_HEIGHT = 260;
const STATUS_BAR_HEIGHT = 40;

/**
 * The panel under the canvas: issues, dry run, run history or conflicts, one at a time. Its height is the person's,
 * kept within what leaves the canvas CANVAS_MIN_HEIGHT of the column it shares (`available`).
 */
export function Drawer({ available }: { available: number }) {
  const drawer = useFlowStore((state) => state.drawer);
  const store = useFlowStoreApi();
  const [kept, keep] = useKeptSize('drawerHeight');
  const [rendered, section] = useRenderedSize('height');
  if (!drawer) return null;
  const max = Math.max(DRAWER_MIN_HEIGHT, available - CANVAS_MIN_HEIGHT - STATUS_BAR_HEIGHT);
  // The size asked for, once there is one: a second key press lands before the panel is measured again.
  const height = kept === null ? rendered : Math.min(kept, max);
  return (
    <>
      <Splitter
        label={`Resize the ${titles[drawer].toLowerCase()} panel`}
        controls="sl-drawer"
        orientation="horizontal"
        value={height}
        min={DRAWER_MIN_HEIGHT}
        max={max}
        onResize={keep}
      />
      <section
        ref={section}
        id="sl-drawer"
        className="sl-drawer"
        aria-label={titles[drawer]}
        style={{ maxHeight: `calc(100% - ${CANVAS_MIN_HEIGHT + STATUS_BAR_HEIGHT}px)`, ...(kept === null ? {} : { height }) }}
      >
        <div className="sl-drawer__head">
          <h2>{titles[drawer]}</h2>
          <button type="button" onClick={() => store.getState().openDrawer(null)}>
            Close panel
          </button>
        </div>
        <div className="sl-drawer__body">
          {drawer === 'issues' ? <IssuesPanel /> : null}
          {drawer === 'dry-run' ? <DryRunPanel /> : null}
          {drawer === 'runs' ? <RunsPanel /> : null}
          {drawer === 'conflicts' ? <ConflictsPanel /> : null}
          {drawer === 'record' ? <RecordInspector /> : null}
        </div>
      </section>
    </>
  );
}

/** The line under the canvas: how many issues the flow has, opening the issues panel. */
export function StatusBar() {
  const store = useFlowStoreApi();
  const counts = useFlowStore((state) => {
    let errors = 0;
    for (const issue of state.issues) if (issue.severity === 'error') errors += 1;
    return `${errors}:${state.issues.length - errors}:${state.validatedRevision}`;
  });
  const [errors, warnings, revision] = counts.split(':').map(Number) as [number, number, number];
  const drawer = useFlowStore((state) => state.drawer);
  return (
    <footer className="sl-statusbar" data-validated={revision}>
      <button
        type="button"
        aria-pressed={drawer === 'issues'}
        className={errors > 0 ? 'sl-statusbar__issues sl-statusbar__issues--errors' : 'sl-statusbar__issues'}
        onClick={() => store.getState().openDrawer(drawer === 'issues' ? null : 'issues')}
      >
        Issues ({errors} error{errors === 1 ? '' : 's'}, {warnings} warning{warnings === 1 ? '' : 's'})
      </button>
    </footer>
  );
}
