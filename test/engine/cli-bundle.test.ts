import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildRuntime, bundleProblem } from '../../bin/runtimeBundle.mjs';
import { repository, runCli } from '../support/cliProcess';
import { leadsWorkspace, tick } from './sqlite-fixtures';

// The bundled runtime (bin/runtimeBundle.mjs) must do what the sources do, workers included, and must never run once
// a source it was built from has changed.
describe('the bundled runtime', () => {
  // Inside the checkout, where the bundle's imports of packages find node_modules, as dist/runtime's do.
  mkdirSync(join(repository, 'dist'), { recursive: true });
  const built = mkdtempSync(join(repository, 'dist', 'bundle-test-'));
  const bundle = join(built, 'runtime');

  beforeAll(async () => {
    await buildRuntime(bundle);
  });

  afterAll(() => rmSync(built, { recursive: true, force: true }));

  const twoLeads = () => {
    const workspace = leadsWorkspace();
    workspace.crm.prepare('insert into leads (first_name, last_name, email, status, amount, updated_at) values (?, ?, ?, ?, ?, ?)').run('Ada', 'Lovelace', 'ada@example.com', 'open', 5, tick());
    workspace.mkt.prepare('insert into contacts (id, name, email, stage, deal_value, modified_at) values (?, ?, ?, ?, ?, ?)').run('m1', 'Alan Turing', 'alan@example.com', 'Open', null, tick());
    return workspace;
  };

  it('runs a pass on its worker thread as the sources do', async () => {
    const results: Record<string, unknown> = {};
    for (const runtime of ['bundle', 'source']) {
      const workspace = twoLeads();
      try {
        const { code, stdout, stderr } = await runCli(['run', workspace.flowPath, '--once', '--state', join(workspace.dir, 'state.db')], {
          env: { SYNCLINE_RUNTIME: runtime, SYNCLINE_RUNTIME_DIR: bundle },
        });
        expect(stderr).toBe('');
        expect(code).toBe(0);
        results[runtime] = { summary: JSON.parse(stdout), names: workspace.mkt.prepare('select name from contacts order by name').pluck().all() };
      } finally {
        workspace.crm.close();
        workspace.mkt.close();
      }
    }
    expect(results.bundle).toEqual({ summary: { created: 2, updated: 0, deleted: 0, echoes: 0, conflicts: 0, failed: 0 }, names: ['Ada Lovelace', 'Alan Turing'] });
    expect(results.source).toEqual(results.bundle);
  });

  it('is not run once a source it holds has changed, and says which when asked for', async () => {
    expect(bundleProblem(bundle)).toBeNull();
    // A copy whose manifest remembers the engine's main file one byte longer than it is: as if it was edited since.
    const stale = join(built, 'stale');
    cpSync(bundle, stale, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(stale, 'manifest.json'), 'utf8')) as { sources: Array<{ path: string; size: number }> };
    const engine = manifest.sources.find((source) => source.path === 'runtime/engine/engine.ts');
    if (!engine) throw new Error('the bundle does not list runtime/engine/engine.ts');
    engine.size += 1;
    writeFileSync(join(stale, 'manifest.json'), JSON.stringify(manifest));
    expect(bundleProblem(stale)).toBe(`runtime/engine/engine.ts changed since the runtime in ${stale} was built (npm run build builds it again)`);
    expect(bundleProblem(join(built, 'none'))).toBe(`${join(built, 'none')} holds no built runtime (npm run build makes it)`);

    const asked = await runCli(['--help'], { env: { SYNCLINE_RUNTIME: 'bundle', SYNCLINE_RUNTIME_DIR: stale } });
    expect(asked.code).toBe(2);
    expect(asked.stderr).toContain('runtime/engine/engine.ts changed since the runtime');
    // Left to choose, the launcher runs the sources instead.
    const chosen = await runCli(['--help'], { env: { SYNCLINE_RUNTIME_DIR: stale } });
    expect(chosen.code).toBe(0);
    expect(chosen.stdout).toContain('syncline run FLOW.json --once');
  });
});
