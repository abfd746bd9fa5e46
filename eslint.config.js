import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import reactHooks from 'eslint-plugin-react-hooks';
import globals from 'globals';

// Which folder may import which (STYLE.md: a node folder stands alone; the engine knows nothing of HTTP), so a wrong
// arrow fails the lint, not a review. `no-restricted-imports` sees an import as written, so a pattern names the folder
// an import climbs to: from runtime/engine/, `../api/x` and (one folder deeper) `../../api/x` both reach runtime/api.
const climbsTo = (folders) => `^(\\.\\./)+(${folders})(/|$)`;

const runtimeImports = [
  { regex: climbsTo('editor'), message: 'The runtime does not import the editor.' },
  {
    // React components are the PascalCase modules of a node folder (Form, ConnectionFields); ui.ts lists them.
    regex: '^(\\.\\./)+nodes/(ui|forms/.*|[^/]+/(ui|[A-Z][^/]*))$',
    message: 'The runtime (and its pass worker) never loads the editor side of nodes/: forms, glyphs, the form kit, React.',
  },
];

/** One folder's import rule: `patterns` are the imports its files may not make (matched case-sensitively). */
const importRule = (files, patterns, ignores = []) => ({
  files,
  ignores,
  rules: { 'no-restricted-imports': ['error', { patterns: patterns.map((pattern) => ({ ...pattern, caseSensitive: true })) }] },
});

const importDirections = [
  importRule(
    ['nodes/**'],
    [{ regex: climbsTo('editor|runtime|test|bench|bin'), message: 'nodes/ imports nothing of ours: a node folder stands alone, and the editor and the runtime build on it.' }],
    ['nodes/**/*.test.ts'],
  ),
  // Tests of nodes/ may use the shared test helpers and fixtures in test/, nothing else of ours.
  importRule(['nodes/**/*.test.ts'], [{ regex: climbsTo('editor|runtime|bench|bin'), message: 'nodes/ imports nothing of ours but shared test helpers.' }]),
  importRule(
    ['editor/**'],
    [
      { regex: climbsTo('test|bench|bin'), message: 'The editor imports nodes/ and the wire types, not tests or tools.' },
      {
        // What the editor takes from the runtime today: plain data and zod schemas, no server code.
        regex: '^(\\.\\./)+runtime/(?!(api/schemas|credentials/types|connectors/[^/]+/form)$)',
        message:
          'The editor takes from runtime/ only the wire types (runtime/api/schemas), the credential schemas (runtime/credentials/types) and the connection forms (runtime/connectors/<name>/form).',
      },
      {
        regex: '^(\\.\\./)+runtime/api/schemas$',
        allowTypeImports: true,
        message: 'Import the wire types as types (`import type`): the editor bundle takes no module of the API.',
      },
    ],
  ),
  importRule(['runtime/**'], runtimeImports),
  // A connector's flow test drives it through the real engine; the connector itself knows nothing of it.
  importRule(
    ['runtime/connectors/**'],
    [...runtimeImports, { regex: climbsTo('(runtime/)?engine'), message: 'Connectors do not import the engine: the engine uses connectors through their interface.' }],
    ['runtime/connectors/**/*.test.ts'],
  ),
  importRule(['runtime/engine/**'], [...runtimeImports, { regex: climbsTo('(runtime/)?api'), message: 'The engine knows nothing of HTTP: it does not import runtime/api.' }]),
];

export default tseslint.config(
  { ignores: ['.benchtmp/**', 'dist/**', 'node_modules/**', '.syncline/**', 'test/output/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: { globals: { ...globals.node, ...globals.browser } },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/consistent-type-imports': 'error',
      'no-eval': 'error',
      'no-new-func': 'error',
    },
  },
  {
    files: ['editor/**/*.tsx', 'nodes/**/*.tsx'],
    plugins: { 'react-hooks': reactHooks },
    rules: { 'react-hooks/rules-of-hooks': 'error', 'react-hooks/exhaustive-deps': 'warn' },
  },
  ...importDirections,
);
