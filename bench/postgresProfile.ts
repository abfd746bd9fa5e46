/**
 * Summarises the `.cpuprofile` files `node --cpu-prof` wrote (one per thread): self time per function and per module
 * (a package of node_modules, a file of this repository, Node's own internals), busiest thread first.
 *
 *   node --import tsx bench/postgresProfile.ts DIR [--top 20]
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const repository = fileURLToPath(new URL('..', import.meta.url));

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a function lives, as a reader of this repository names it: a package, a file of ours, Node's internals. */
export function moduleOf(url: string, functionName = ''): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  if (url.startsWith('node:')) return 'node: internals';
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const packaged = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(path);
  if (packaged) return packaged[1] as string;
  return path.startsWith(repository) ? relative(repository, path) : path;
}

/** The file of a function: within its package for node_modules, within the repository for ours. */
function fileOf(url: string): string {
  if (url.startsWith('node:')) return url;
  const path = url.startsWith('file://') ? fileURLToPath(url) : url;
  const at = path.lastIndexOf('node_modules/');
  if (at >= 0) return path.slice(at + 'node_modules/'.length);
  return path.startsWith(repository) ? relative(repository, path) : path;
}

interface Tally {
  totalMs: number;
  byFunction: Map<string, number>;
  byModule: Map<string, number>;
}

function tally(profile: CpuProfile): Tally {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const byFunction = new Map<string, number>();
  const byModule = new Map<string, number>();
  let totalMs = 0;
  profile.samples.forEach((id, index) => {
    const node = nodes.get(id);
    const ms = (profile.timeDeltas[index] ?? 0) / 1000;
    if (!node || node.callFrame.functionName === '(idle)') return;
    totalMs += ms;
    const { functionName, url, lineNumber } = node.callFrame;
    const module = moduleOf(url, functionName);
    // Line numbers are of the code as run (tsx's output for our TypeScript), so only names and files are given for ours.
    const name = `${functionName || '(anonymous)'} ${url ? `${fileOf(url)}${url.includes('node_modules') ? `:${lineNumber + 1}` : ''}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) ?? 0) + ms);
    byModule.set(module, (byModule.get(module) ?? 0) + ms);
  });
  return { totalMs, byFunction, byModule };
}

function top(map: Map<string, number>, totalMs: number, count: number): string[] {
  return [...map.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, count)
    .map(([name, ms]) => `  ${((ms / totalMs) * 100).toFixed(1).padStart(5)}%  ${(ms / 1000).toFixed(2).padStart(7)} s  ${name}`);
}

/** The profiles of DIR, summarised as text: per thread (busiest first), the top functions and modules by self time. */
export function summarizeProfiles(dir: string, count = 20): string {
  const files = readdirSync(dir).filter((file) => file.endsWith('.cpuprofile'));
  if (files.length === 0) return `no .cpuprofile in ${dir}`;
  const tallies = files
    .map((file) => ({ file, tally: tally(JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile) }))
    .sort((a, b) => b.tally.totalMs - a.tally.totalMs);
  const lines: string[] = [];
  for (const { file, tally: { totalMs, byFunction, byModule } } of tallies) {
    lines.push(`${file}: ${(totalMs / 1000).toFixed(2)} s of samples, not idle`);
    if (totalMs < 1) continue;
    lines.push(' by module (self time):', ...top(byModule, totalMs, count), ' by function (self time):', ...top(byFunction, totalMs, count), '');
  }
  return lines.join('\n');
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: node --import tsx bench/postgresProfile.ts DIR [--top 20]\n');
    process.exit(2);
  }
  const at = process.argv.indexOf('--top');
  process.stdout.write(`${summarizeProfiles(dir, at > 0 ? Number(process.argv[at + 1]) : 20)}\n`);
}
