import { join } from 'node:path';
import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// The import directions of eslint.config.js, tried on planted files: each case is one import, as a file at `path`
// would write it. Only the import rule is looked at; the planted code is not otherwise meant to lint cleanly.

const eslint = new ESLint({ cwd: join(import.meta.dirname, '../..') });

/** The messages of the import rule for a file at `path` holding `code`. */
async function importProblems(path: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(`${code}\nexport const used = planted;\n`, { filePath: path });
  return (result?.messages ?? []).filter((message) => message.ruleId === 'no-restricted-imports').map((message) => message.message);
}

describe('import directions', () => {
  it.each([
    ['nodes/stamp/Form.tsx', "import { NodeIcon as planted } from '../../editor/canvas/nodeIcons';", /nodes\/ imports nothing of ours/],
    ['nodes/stamp/behaviour.ts', "import { compileFlow as planted } from '../../runtime/engine/graph';", /nodes\/ imports nothing of ours/],
    ['nodes/index.ts', "import { createApp as planted } from '../runtime/app';", /nodes\/ imports nothing of ours/],
    ['nodes/flow/load.ts', "import { trigger as planted } from '../../test/support/flowDocuments';", /nodes\/ imports nothing of ours/],
    ['nodes/flow/load.test.ts', "import { compileFlow as planted } from '../../runtime/engine/graph';", /nodes\/ imports nothing of ours but shared test helpers/],
    ['editor/canvas/Palette.tsx', "import { compileFlow as planted } from '../../runtime/engine/graph';", /The editor takes from runtime\/ only/],
    ['editor/main.tsx', "import { createApp as planted } from '../runtime/app';", /The editor takes from runtime\/ only/],
    ['editor/api/client.ts', "import { runSummarySchema as planted } from '../../runtime/api/schemas';", /Import the wire types as types/],
    ['runtime/connectors/zendesk/index.ts', "import { SyncEngine as planted } from '../../engine/index';", /Connectors do not import the engine/],
    ['runtime/connectors/index.ts', "import { SyncEngine as planted } from '../engine/index';", /Connectors do not import the engine/],
    ['runtime/engine/engine.ts', "import { createApp as planted } from '../api/runtime';", /The engine knows nothing of HTTP/],
    ['runtime/engine/pass/plan.ts', "import { createApp as planted } from '../../api/runtime';", /The engine knows nothing of HTTP/],
    ['runtime/passes/runner.ts', "import planted from '../../nodes/transform/Form';", /never loads the editor side of nodes/],
    ['runtime/engine/graph.ts', "import { nodeUi as planted } from '../../nodes/ui';", /never loads the editor side of nodes/],
    ['runtime/api/flows.ts', "import { TextField as planted } from '../../nodes/forms/kit';", /never loads the editor side of nodes/],
  ])('refuses, in %s, %s', async (path, code, message) => {
    const problems = await importProblems(path, code);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(message);
  });

  it.each([
    ['nodes/stamp/Form.tsx', "import { TextField as planted } from '../forms/kit';"],
    ['nodes/flow/load.test.ts', "import { trigger as planted } from '../../test/support/flowDocuments';"],
    ['editor/canvas/Palette.tsx', "import { nodeRegistry as planted } from '../../nodes';"],
    ['editor/api/client.ts', "import type { RunSummary as planted } from '../../runtime/api/schemas';"],
    ['editor/forms/connectorForms.ts', "import { githubConnectionForm as planted } from '../../runtime/connectors/github/form';"],
    ['editor/panels/CredentialsPanel.tsx', "import { credentialNameSchema as planted } from '../../runtime/credentials/types';"],
    ['runtime/engine/graph.ts', "import { flowParts as planted } from '../../nodes/flow/graphRules';"],
    ['runtime/engine/graph.ts', "import { triggerConfigSchema as planted } from '../../nodes/trigger/schema';"],
    ['runtime/api/flows.ts', "import { compileFlow as planted } from '../engine/graph';"],
    ['runtime/connectors/zendesk/index.ts', "import { guardedFetch as planted } from '../network';"],
    ['runtime/connectors/zendesk/flow.test.ts', "import { SyncEngine as planted } from '../../engine/index';"],
  ])('allows, in %s, %s', async (path, code) => {
    expect(await importProblems(path, code)).toEqual([]);
  });
});
