import { useFlowStore, useFlowStoreApi } from '../store/context';
import type { Drawer as DrawerKind } from '../store/types';
import { IssuesPanel } from './IssuesPanel';
import { ConflictsPanel, DryRunPanel, RunsPanel } from './RunPanels';

const titles: Record<DrawerKind, string> = { issues: 'Issues', 'dry-run': 'Dry run', runs: 'Run history', conflicts: 'Conflicts inbox' };

/** The panel under the canvas: issues, dry run, run history or conflicts, one at a time. */
export function Drawer() {
  const drawer = useFlowStore((state) => state.drawer);
  const store = useFlowStoreApi();
  if (!drawer) return null;
  return (
    <section className="sl-drawer" aria-label={titles[drawer]}>
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
      </div>
    </section>
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
