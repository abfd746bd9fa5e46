import { readFile, stat } from 'node:fs/promises';
import { formatIssue } from '../../nodes/flow/issues';
import { parseFlowText } from '../../nodes/flow/jsonText';
import { loadFlow } from '../../nodes/flow/load';
import { isRecord } from '../../nodes/flow/values';
import { checkRoundTrip, formatRoundTripIssue } from '../../nodes/flow/roundTrip';
import type { FlowRecord } from '../../nodes/types';
import { connectorRegistry, loadOptionsFor } from '../connectors/index';

const usage = 'usage: syncline validate FLOW.json [--samples SAMPLES.json]';


/** Flows are kilobytes; past this the file is not a flow, and reading it whole would only exhaust memory. */
const maxFileBytes = 256 * 1024 * 1024;

/** A problem that ends the command with exit code 2 (usage, unreadable file, not JSON, bad samples). */
class InputError extends Error {}

/** `syncline validate FLOW.json [--samples SAMPLES.json]`: 0 valid, 1 invalid (one error a line on stderr), 2 unusable input (SPEC §8). */
export async function validateCommand(args: string[]): Promise<number> {
  try {
    const { flowPath, samplesPath } = parseArguments(args);
    if (flowPath === null) {
      process.stdout.write(`${usage}\n`);
      return 0;
    }
    const input = await readJson(flowPath);
    const samples = samplesPath === undefined ? undefined : readSamples(samplesPath, await readJson(samplesPath));

    const { document, issues } = loadFlow(input, loadOptionsFor(connectorRegistry));
    const errors = issues.filter((issue) => issue.severity === 'error');
    if (!document || errors.length > 0) {
      const lines = errors.map(formatIssue);
      lines.push(`${flowPath}: invalid (${plural(errors.length, 'error')})`);
      process.stderr.write(`${lines.join('\n')}\n`);
      return 1;
    }

    const warnings = issues.map((issue) => `warning: ${formatIssue(issue)}`);
    if (samples) {
      const from = samples.trigger;
      if (from !== undefined && !document.nodes.some((node) => node.id === from && node.type === 'trigger')) {
        const triggers = document.nodes.filter((node) => node.type === 'trigger').map((node) => JSON.stringify(node.id));
        throw new InputError(`${samplesPath}: "trigger": ${JSON.stringify(from)} is not a trigger of the flow; name one of ${triggers.join(', ')}`);
      }
      try {
        const found = await checkRoundTrip(document, samples.records, undefined, { from });
        warnings.push(...found.map(formatRoundTripIssue));
      } catch (error) {
        warnings.push(`warning: round-trip check not completed: ${error instanceof Error ? error.message : String(error)}`);
      }
    }

    process.stdout.write(`${flowPath}: valid (${plural(document.nodes.length, 'node')}, ${plural(document.edges.length, 'edge')})\n`);
    if (warnings.length > 0) process.stderr.write(`${warnings.join('\n')}\n`);
    return 0;
  } catch (error) {
    if (!(error instanceof InputError)) throw error;
    process.stderr.write(`${error.message}\n`);
    return 2;
  }
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

/** Returns the flow path (null for --help) and the samples path, or throws an InputError with the usage. */
function parseArguments(args: string[]): { flowPath: string | null; samplesPath: string | undefined } {
  const positional: string[] = [];
  let samplesPath: string | undefined;
  const wrong = (problem: string) => new InputError(`syncline validate: ${problem}\n${usage}`);
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    if (arg === '--help' || arg === '-h') return { flowPath: null, samplesPath };
    if (arg === '--samples' || arg.startsWith('--samples=')) {
      if (samplesPath !== undefined) throw wrong('--samples is given twice');
      const value = arg === '--samples' ? args[++index] : arg.slice('--samples='.length);
      if (!value) throw wrong('--samples needs a file, e.g. --samples samples.json');
      samplesPath = value;
    } else if (arg.startsWith('-') && arg !== '-') {
      throw wrong(`unknown option ${arg}`);
    } else {
      positional.push(arg);
    }
  }
  if (positional.length !== 1) throw wrong(positional.length === 0 ? 'name the flow file to check' : `one flow file at a time, not ${positional.length}`);
  return { flowPath: positional[0] as string, samplesPath };
}

async function readJson(path: string): Promise<unknown> {
  let text: string;
  try {
    const info = await stat(path);
    if (info.isDirectory()) throw new InputError(`syncline validate: cannot read ${path}: it is a folder, not a file`);
    if (info.size > maxFileBytes) {
      throw new InputError(`syncline validate: ${path} is ${Math.round(info.size / 1024 / 1024)} MB; a flow file is at most ${maxFileBytes / 1024 / 1024} MB`);
    }
    text = await readFile(path, 'utf8');
  } catch (error) {
    if (error instanceof InputError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : error instanceof Error ? error.message : String(error);
    throw new InputError(`syncline validate: cannot read ${path}: ${reason}`);
  }
  const parsed = parseFlowText(text);
  if (!parsed.ok) throw new InputError(`${path}:${parsed.line}:${parsed.column}: not JSON: ${parsed.message}`);
  return parsed.value;
}

/** Samples are records of one trigger's system: a list, or `{"samples": [...], "trigger": "<id>"}` to say which. */
function readSamples(path: string, value: unknown): { records: FlowRecord[]; trigger: string | undefined } {
  const shape = `must be a list of sample records ([{...}, ...]) or {"samples": [...], "trigger": "<trigger id>"}`;
  let list: unknown = value;
  let trigger: string | undefined;
  if (isRecord(value)) {
    const wrapper = value;
    const unknownKeys = Object.keys(wrapper).filter((key) => key !== 'samples' && key !== 'trigger');
    if (!Array.isArray(wrapper.samples) || unknownKeys.length > 0) throw new InputError(`${path}: ${shape}`);
    if (wrapper.trigger !== undefined && (typeof wrapper.trigger !== 'string' || wrapper.trigger === '')) {
      throw new InputError(`${path}: "trigger" must name the trigger node the samples come from`);
    }
    list = wrapper.samples;
    trigger = wrapper.trigger as string | undefined;
  }
  if (!Array.isArray(list)) throw new InputError(`${path}: ${shape}`);
  const records: FlowRecord[] = [];
  list.forEach((record: unknown, index) => {
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new InputError(`${path}: samples[${index}] must be a record (a JSON object of fields), not ${record === null ? 'null' : Array.isArray(record) ? 'a list' : typeof record}`);
    }
    records.push(record as FlowRecord);
  });
  return { records, trigger };
}
