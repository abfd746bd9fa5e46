import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { loadFlow } from '../nodes/flow/load';
import { validateCommand } from '../runtime/commands/validate';
import { connectorRegistry, loadOptionsFor } from '../runtime/connectors/index';

// `syncline validate` as a user runs it (SPEC §8): the real bin, from the repository root. Each run starts tsx
// (about a second), so the CLI runs cover the fixtures and the edge cases call the command in-process.
//
// No test here bounds the wall-clock time: on a busy machine a start of tsx alone can take many seconds. A run that
// hangs is stopped by CLI_TIMEOUT_MS (and reported as such), well inside the tests' own timeout.

const root = resolve(import.meta.dirname, '..');
const flows = 'test/fixtures/flows';
const broken = `${flows}/broken`;
const samples = `${flows}/samples/leads.samples.json`;
/** The examples of the flow format's contract (SPEC §1), copied into the repository so every clone checks them. */
const examples = 'test/fixtures/examples';
const CLI_TIMEOUT_MS = 90_000;
const CLI_TEST_TIMEOUT_MS = CLI_TIMEOUT_MS + 30_000;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function cli(...args: string[]): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, ['bin/syncline.mjs', 'validate', ...args], { cwd: root, timeout: CLI_TIMEOUT_MS }, (error, stdout, stderr) => {
      // A run killed by the timeout has no exit code: it hung.
      done({ code: error ? (typeof error.code === 'number' ? error.code : null) : 0, stdout, stderr });
    });
  });
}

function counts(path: string): { nodes: number; edges: number } {
  const document = JSON.parse(readFileSync(resolve(root, path), 'utf8')) as { nodes: unknown[]; edges: unknown[] };
  return { nodes: document.nodes.length, edges: document.edges.length };
}

const validFlows = readdirSync(resolve(root, flows))
  .filter((name) => name.endsWith('.flow.json'))
  .map((name) => `${flows}/${name}`);
const brokenFlows = readdirSync(resolve(root, broken)).filter((name) => name.endsWith('.flow.json') || name.endsWith('.json.txt'));

describe('syncline validate on the fixtures', { concurrent: true, timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('has the fixtures it is meant to check', () => {
    expect(validFlows.length).toBeGreaterThanOrEqual(5);
    expect(brokenFlows.length).toBeGreaterThanOrEqual(12);
  });

  it.each(validFlows)('%s is valid', async (path) => {
    const { nodes, edges } = counts(path);
    expect(await cli(path)).toEqual({ code: 0, stdout: `${path}: valid (${nodes} nodes, ${edges} edges)\n`, stderr: '' });
  });

  it.each(brokenFlows)('broken/%s gives exactly the expected errors', async (name) => {
    const notJson = name.endsWith('.json.txt');
    const expected = readFileSync(resolve(root, broken, `${name.replace(/\.(flow\.json|json\.txt)$/, '')}.expected.txt`), 'utf8');
    expect(await cli(`${broken}/${name}`)).toEqual({ code: notJson ? 2 : 1, stdout: '', stderr: expected });
  });
});

describe('syncline validate on the SPEC examples', { concurrent: true, timeout: CLI_TEST_TIMEOUT_MS }, () => {
  const files = readdirSync(resolve(root, examples)).filter((name) => name.endsWith('.json'));

  it('has the examples it is meant to check', () => {
    expect(files).toContain('leads.flow.json');
  });

  it('docs/flow-format.md opens with the leads example, shows only valid flows, and the id message as it is', () => {
    const page = readFileSync(resolve(root, 'docs/flow-format.md'), 'utf8');
    const documents = [...page.matchAll(/```json\n([\s\S]*?)\n```/g)].map((block) => JSON.parse(block[1]!) as { format?: unknown });
    const flowDocuments = documents.filter((document) => document.format === 'syncline.flow');
    expect(flowDocuments[0]).toEqual(JSON.parse(readFileSync(resolve(root, examples, 'leads.flow.json'), 'utf8')));
    for (const document of flowDocuments) expect(loadFlow(document, loadOptionsFor(connectorRegistry)).issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    const idMessage = readFileSync(resolve(root, broken, 'bad-ids.expected.txt'), 'utf8').split('\n')[0]!;
    expect(idMessage).toMatch(/^id: must match /);
    expect(page).toContain(`\n${idMessage}\n`);
  });

  it.each(files)('%s is valid', async (name) => {
    const path = `${examples}/${name}`;
    const { nodes, edges } = counts(path);
    expect(await cli(path)).toEqual({ code: 0, stdout: `${path}: valid (${nodes} nodes, ${edges} edges)\n`, stderr: '' });
  });
});

describe('syncline validate --samples', { concurrent: true, timeout: CLI_TEST_TIMEOUT_MS }, () => {
  it('prints a warning for each field that would flap, and still exits 0', async () => {
    const run = await cli(`${flows}/lossy.flow.json`, '--samples', samples);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${flows}/lossy.flow.json: valid (5 nodes, 4 edges)\n`);
    expect(run.stderr).toMatch(
      /^warning: node "names" .*: sample 1 field "last_name" comes back as "LOVELACE" instead of "Lovelace" — this field would flap between systems$/m,
    );
    for (const line of run.stderr.trimEnd().split('\n')) expect(line).toMatch(/^warning: node "names" .* — this field would flap between systems$/);
  });

  it('prints nothing on stderr when every sample survives the round trip', async () => {
    expect(await cli(`${flows}/leads.flow.json`, '--samples', samples)).toEqual({
      code: 0,
      stdout: `${flows}/leads.flow.json: valid (5 nodes, 4 edges)\n`,
      stderr: '',
    });
  });

  it('does not hang on an expression that never ends: the time limit stops it on every sample', async () => {
    const run = await cli(`${flows}/endless.flow.json`, '--samples', samples);
    // A hang would be killed by CLI_TIMEOUT_MS, leaving no exit code.
    expect(run.code).toBe(0);
    expect(run.stdout).toBe(`${flows}/endless.flow.json: valid (5 nodes, 4 edges)\n`);
    const sampleCount = (JSON.parse(readFileSync(resolve(root, samples), 'utf8')) as unknown[]).length;
    const lines = run.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(sampleCount);
    lines.forEach((line, index) =>
      expect(line).toMatch(new RegExp(`^warning: node "names" .*: sample ${index + 1} fails: .*expression ran longer than \\d+ ms; check it for a loop`)),
    );
  });
});

describe('validateCommand in-process: usage, unreadable input, big files', () => {
  let stdout = '';
  let stderr = '';
  const scratch = mkdtempSync(join(tmpdir(), 'syncline-validate-'));
  const file = (name: string, content: string) => {
    const path = join(scratch, name);
    writeFileSync(path, content);
    return path;
  };
  const leads = resolve(root, flows, 'leads.flow.json');

  beforeEach(() => {
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => ((stdout += String(chunk)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((chunk) => ((stderr += String(chunk)), true));
  });
  afterEach(() => {
    vi.restoreAllMocks();
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it.each([
    [[], 'name the flow file to check'],
    [['a.json', 'b.json'], 'one flow file at a time, not 2'],
    [['a.json', '--strict'], 'unknown option --strict'],
    [['a.json', '--samples'], '--samples needs a file, e.g. --samples samples.json'],
    [['a.json', '--samples=x.json', '--samples', 'y.json'], '--samples is given twice'],
  ])('exits 2 on wrong usage %j', async (args, problem) => {
    expect(await validateCommand(args)).toBe(2);
    expect(stderr).toBe(`syncline validate: ${problem}\nusage: syncline validate FLOW.json [--samples SAMPLES.json]\n`);
  });

  it('prints the usage on --help', async () => {
    expect(await validateCommand(['--help'])).toBe(0);
    expect(stdout).toMatch(/^usage: syncline validate/);
  });

  it('exits 2 on a file it cannot read', async () => {
    expect(await validateCommand([join(scratch, 'missing.json')])).toBe(2);
    expect(stderr).toBe(`syncline validate: cannot read ${join(scratch, 'missing.json')}: no such file\n`);
    stderr = '';
    expect(await validateCommand([scratch])).toBe(2);
    expect(stderr).toBe(`syncline validate: cannot read ${scratch}: it is a folder, not a file\n`);
  });

  it('exits 2 on a samples file that is not JSON or not a list of records', async () => {
    const cases: Array<[string, string]> = [
      ['[{"a": 1},\n {"b": 2]', ':2:9: not JSON: expected "," or "}" after the value, found "]"'],
      ['{"records": []}', ': must be a list of sample records ([{...}, ...]) or {"samples": [...], "trigger": "<trigger id>"}'],
      ['[{"a": 1}, 3]', ': samples[1] must be a record (a JSON object of fields), not number'],
      ['{"samples": [], "trigger": 5}', ': "trigger" must name the trigger node the samples come from'],
      ['{"samples": [], "trigger": "map"}', ': "trigger": "map" is not a trigger of the flow; name one of "crm", "mkt"'],
    ];
    for (const [content, message] of cases) {
      stderr = '';
      const path = file('samples.json', content);
      expect(await validateCommand([leads, '--samples', path])).toBe(2);
      expect(stderr).toBe(`${path}${message}\n`);
    }
  });

  it('accepts samples wrapped with the trigger they come from', async () => {
    const path = file('wrapped.json', JSON.stringify({ trigger: 'crm', samples: [] }));
    expect(await validateCommand([leads, `--samples=${path}`])).toBe(0);
    expect(stdout).toBe(`${leads}: valid (5 nodes, 4 edges)\n`);
  });

  // The bound on this test is its timeout: linear work on 50 MB takes about a second, anything quadratic hours.
  it('gets through a 50 MB flow, valid or not JSON, without hanging', { timeout: 120_000 }, async () => {
    const document = JSON.parse(readFileSync(leads, 'utf8')) as { nodes: Array<Record<string, unknown>> };
    // One 52 MB label takes a big file through reading, parsing and loading; 100k nodes are loadFlow's own test.
    document.nodes[1] = { ...document.nodes[1], label: 'x'.repeat(52_000_000) };
    const big = file('big.flow.json', JSON.stringify(document));
    expect(statSync(big).size).toBeGreaterThan(50_000_000);
    expect(await validateCommand([big])).toBe(0);
    expect(stdout).toBe(`${big}: valid (5 nodes, 4 edges)\n`);

    const text = JSON.stringify(document);
    const truncated = file('truncated.flow.json', text.slice(0, text.length - 10));
    expect(await validateCommand([truncated])).toBe(2);
    expect(stderr).toBe(`${truncated}:1:${text.length - 9}: not JSON: the text ends too early: a bracket, brace or quote is not closed\n`);
  });
});
