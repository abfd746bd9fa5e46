#!/usr/bin/env node
// `npm run bench`: runs each bench in its own process (a clean heap, its own RSS), collects what they print and writes
// BENCHMARKS.md: one table per measurement (median, min and max over the runs), its target and whether it is met, the
// commit and the machine. Prints each target and whether it is met; exits 0 either way (timing never fails a build).
//
// A bench prints one JSON object as the last thing on stdout. With `measurements` — a list of { id, title, unit,
// runs: number[], better: 'lower'|'higher', group?, target?: { op: '<'|'<='|'>='|'=', value, text } } — it is
// reported as it is: the bench repeats its own runs (SYNCLINE_BENCH_RUNS, at least 5). Any other object is taken as
// one run: the bench is started SYNCLINE_BENCH_RUNS times and each numeric field becomes a measurement.
//
//   npm run bench                          every bench: bench/engine.ts, then bench/webhooks.*, bench/editor.*,
//                                          bench/postgres.*, bench/crm-marketing.* if present
//   npm run bench -- engine                only the named benches; the others' sections keep their last results
//   SYNCLINE_BENCH_RUNS=7 npm run bench    more runs (default 5, never fewer)
//   npm run bench -- --report-only         rewrite BENCHMARKS.md from the results it holds (after editing bench/*.notes.md)
//
// One bench runs at a time on a machine: another refuses to start (and exits 1, having measured nothing) while the
// first holds $TMPDIR/syncline-bench.lock.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, openSync, readdirSync, readFileSync, unlinkSync, writeFileSync, closeSync } from 'node:fs';
import { cpus, loadavg, platform, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { register } from 'tsx/esm/api';

// As bin/syncline.mjs: this process may load TypeScript, and each bench runs under the same loader (--import tsx).
register();

const repository = fileURLToPath(new URL('..', import.meta.url));
const runs = Math.max(5, Number(process.env.SYNCLINE_BENCH_RUNS ?? 5) || 5);
const only = process.argv.slice(2).filter((arg) => !arg.startsWith('-'));
const reportOnly = process.argv.includes('--report-only');
const RESULTS_MARK = '<!-- bench results: ';
/** Longest any one bench process may take before it is stopped and reported as failed. */
const BENCH_TIMEOUT_MS = 30 * 60 * 1000;

/** Every bench, in the order they run and are reported: the engine first, then the others as their owners add them. */
const BENCH_ORDER = ['engine', 'webhooks', 'editor', 'postgres', 'crm-marketing', 'cluster'];

/** The benches present, in the order they run. */
function benches() {
  const files = readdirSync(join(repository, 'bench'));
  const pick = (name) => files.find((file) => file.startsWith(`${name}.`) && /\.(ts|mts|mjs|js)$/.test(file));
  return BENCH_ORDER.map((name) => ({ name, file: pick(name) }))
    .filter((bench) => bench.file && (only.length === 0 || only.includes(bench.name)));
}

function runProcess(file) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', join('bench', file)], {
      cwd: repository,
      env: { ...process.env, SYNCLINE_BENCH_RUNS: String(runs) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
      process.stderr.write(chunk);
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), BENCH_TIMEOUT_MS);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr, seconds: (Date.now() - started) / 1000 });
    });
  });
}

/** The JSON object a bench printed last (it may span several lines). */
function lastJson(stdout) {
  const lines = stdout.trimEnd().split('\n');
  for (let start = lines.length - 1; start >= 0; start--) {
    if (!lines[start].trimStart().startsWith('{')) continue;
    try {
      const value = JSON.parse(lines.slice(start).join('\n'));
      if (value && typeof value === 'object' && !Array.isArray(value)) return value;
    } catch {
      // Not the start of the object yet: keep going up.
    }
  }
  return null;
}

/** Numeric fields of a one-run result, by dotted path; `target` objects describe goals, not results. */
function numericFields(value, prefix = '', out = new Map()) {
  for (const [key, field] of Object.entries(value)) {
    const path = prefix ? `${prefix}.${key}` : key;
    if (typeof field === 'number' && Number.isFinite(field)) out.set(path, field);
    else if (typeof field === 'boolean') out.set(path, field);
    else if (field && typeof field === 'object' && !Array.isArray(field) && key !== 'target') numericFields(field, path, out);
  }
  return out;
}

async function runBench(bench) {
  process.stderr.write(`\n== ${bench.name} (bench/${bench.file})\n`);
  const first = await runProcess(bench.file);
  const result = first.code === 0 ? lastJson(first.stdout) : null;
  if (!result) return { ...bench, error: failure(first), seconds: first.seconds };
  if (Array.isArray(result.measurements)) return { ...bench, measurements: result.measurements, meta: result, seconds: first.seconds };

  // One run per process: start it again until there are enough runs, then each field is a measurement.
  const results = [result];
  let seconds = first.seconds;
  while (results.length < runs) {
    const again = await runProcess(bench.file);
    seconds += again.seconds;
    const parsed = again.code === 0 ? lastJson(again.stdout) : null;
    if (!parsed) return { ...bench, error: failure(again), seconds };
    results.push(parsed);
  }
  const fields = new Map();
  for (const one of results) for (const [path, value] of numericFields(one)) fields.set(path, [...(fields.get(path) ?? []), value]);
  const measurements = [];
  for (const [path, values] of fields) {
    if (values.length !== results.length) continue;
    if (typeof values[0] === 'boolean') {
      measurements.push({ id: path, title: `${path} (runs where it held)`, unit: 'runs', runs: values.map((held) => (held ? 1 : 0)), better: 'higher', flag: true });
    } else {
      measurements.push({ id: path, title: path, unit: '', runs: values, better: 'lower' });
    }
  }
  const stated = results[0].target;
  return { ...bench, measurements, meta: { statedTarget: stated }, seconds };
}

function failure(run) {
  const reason = run.signal ? `stopped by ${run.signal}` : run.code === 0 ? 'printed no JSON result' : `exited with ${run.code}`;
  const tail = run.stderr.trim().split('\n').slice(-15).join('\n');
  return `${reason}${tail ? `\n\n\`\`\`\n${tail}\n\`\`\`` : ''}`;
}

// ---------------------------------------------------------------------------------------------------------------

const median = (values) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
};

function meets(target, value) {
  switch (target.op) {
    case '<':
      return value < target.value;
    case '<=':
      return value <= target.value;
    case '>=':
      return value >= target.value;
    case '=':
      return value === target.value;
    default:
      return false;
  }
}

function format(value, unit) {
  if (!Number.isFinite(value)) return String(value);
  if (unit === '×') return value.toFixed(2);
  const abs = Math.abs(value);
  const digits = abs >= 100 ? 0 : abs >= 10 ? 1 : 2;
  return value.toLocaleString('en', { maximumFractionDigits: digits, minimumFractionDigits: 0 });
}

/** Median, min, max and the target's verdict of one measurement (`siblings`: its bench's measurements). */
function summarize(measurement, siblings) {
  const values = measurement.runs;
  const value = median(values);
  const summary = { ...measurement, median: value, min: Math.min(...values), max: Math.max(...values) };
  if (measurement.flag) summary.met = values.filter(Boolean).length * 2 >= values.length;
  else if (measurement.target) summary.met = meets(measurement.target, value);
  if (measurement.target && summary.met === false && measurement.target.value !== 0) {
    const ratio = measurement.better === 'lower' ? value / measurement.target.value : measurement.target.value / value;
    summary.miss = `${ratio.toFixed(2)}× ${measurement.better === 'lower' ? 'over' : 'under'} the target`;
  }
  if (measurement.target && summary.met === false) summary.floors = floorsOf(measurement, siblings);
  return summary;
}

/**
 * What a missed target's floors measured (the bench's `floors`: figures no engine, however lean, can go beneath), each
 * said with whether it meets the target itself: a floor that misses it says the target is out of reach on that machine.
 */
function floorsOf(measurement, siblings) {
  const said = [];
  for (const { id, label } of measurement.floors ?? []) {
    const floor = siblings.find((candidate) => candidate.id === id);
    if (!floor) continue;
    const value = median(floor.runs);
    said.push(`${label}: ${shown(floor, value)}, which ${meets(measurement.target, value) ? 'meets it' : 'misses it too'}`);
  }
  return said;
}

/** A median with its unit; a yes/no measurement as how many runs it held in. */
function shown(summary, value = summary.median) {
  if (summary.flag) return `${summary.runs.filter(Boolean).length} of ${summary.runs.length} runs`;
  return summary.unit ? `${format(value, summary.unit)} ${summary.unit}` : format(value, summary.unit);
}

function verdict(summary) {
  if (summary.met === undefined) return '—';
  if (summary.met) return '**met**';
  const said = [summary.miss, summary.floors?.length ? `${summary.floors.length > 1 ? 'floors' : 'floor'}: ${summary.floors.join('; ')}` : null].filter(Boolean);
  return `**not met**${said.length > 0 ? ` (${said.join('; ')})` : ''}`;
}

/** For a bench that judges itself: its stated target, as it states it. */
function targetOf(results, bench) {
  const stated = results.find((result) => result.name === bench)?.meta?.statedTarget;
  return stated ? `the bench's own: \`${JSON.stringify(stated)}\`` : 'the bench says it holds';
}

function git(args) {
  try {
    return execFileSync('git', args, { cwd: repository, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

function machine() {
  const cores = cpus();
  return {
    cores: cores.length,
    // What else the machine was doing as the benches began (the benches' own load is not in it yet).
    loadAtStart: loadavg()[0].toFixed(2),
    cpu: cores[0]?.model?.trim() ?? 'unknown',
    memoryGb: (totalmem() / 2 ** 30).toFixed(1),
    node: process.version,
    os: `${platform()} ${release()}`,
  };
}

function report(run) {
  const { results, startedAt, seconds, commit, host } = run;
  const lines = [
    '# Benchmarks',
    '',
    'Written by `npm run bench` (bin/bench.mjs); the figures below are from the last run, but for sections that say when',
    'they were measured (a run of named benches keeps the others\' last results). Each is the median of the runs shown,',
    'with min and max; the benches generate their datasets from a fixed seed. Whatever else the machine below was doing',
    'at the time shows up as spread between min and max.',
    '',
    `- **Date**: ${startedAt}`,
    `- **Commit**: ${commit}`,
    `- **Machine**: ${host.cores} cores (${host.cpu}), ${host.memoryGb} GB memory, ${host.os}${host.loadAtStart === undefined ? '' : `; load average ${host.loadAtStart} when it started`}`,
    `- **Node**: ${host.node}`,
    `- **Runs per figure**: ${run.runs}; the whole bench took ${Math.floor(seconds / 60)} min ${Math.round(seconds % 60)} s`,
    '',
  ];
  const all = results.flatMap((result) => (result.measurements ?? []).map((measurement) => ({ bench: result.name, ...summarize(measurement, result.measurements) })));
  const targeted = all.filter((summary) => summary.met !== undefined);
  if (targeted.length > 0) {
    lines.push('## Targets', '', '| bench | measurement | target | median | verdict |', '| --- | --- | --- | ---: | --- |');
    for (const summary of targeted) {
      const target = summary.target?.text ?? (summary.flag ? targetOf(results, summary.bench) : '');
      lines.push(`| ${summary.bench} | ${summary.title} | ${target} | ${shown(summary)} | ${verdict(summary)} |`);
    }
    lines.push('');
  }
  for (const result of results) {
    lines.push(`## ${result.name} (bench/${result.file})`, '');
    if (result.measuredAt && result.measuredAt !== startedAt) lines.push(`Measured ${result.measuredAt}, commit ${result.commit}: not in the run above, which ran only the other benches.`, '');
    if (result.error) {
      lines.push(`Did not finish: ${result.error}`, '');
      continue;
    }
    if (result.meta?.scale !== undefined && result.meta.scale !== 1) lines.push(`**Scaled run** (scale ${result.meta.scale}): datasets shrunk for a quick look; not the figures of the issue.`, '');
    if (result.meta?.statedTarget) lines.push(`The bench states its target as \`${JSON.stringify(result.meta.statedTarget)}\`.`, '');
    let group = null;
    for (const measurement of result.measurements) {
      const summary = summarize(measurement, result.measurements);
      if (measurement.group && measurement.group !== group) {
        group = measurement.group;
        lines.push(`### ${group}`, '');
      }
      lines.push(
        `**${summary.title}**${summary.notes ? ` — ${summary.notes}` : ''}`,
        '',
        '| median | min | max | runs | target | verdict |',
        '| ---: | ---: | ---: | --- | --- | --- |',
        `| ${shown(summary)} | ${format(summary.min, summary.unit)} | ${format(summary.max, summary.unit)} | ${summary.runs.map((run) => format(run, summary.unit)).join(', ')} | ${summary.target?.text ?? (summary.flag ? targetOf(results, result.name) : '—')} | ${verdict(summary)} |`,
        '',
      );
    }
    const notes = join(repository, 'bench', `${result.name}.notes.md`);
    if (existsSync(notes)) lines.push(readFileSync(notes, 'utf8').trim(), '');
  }
  // The results themselves, so the report can be written again (--report-only) without running the benches.
  lines.push(`${RESULTS_MARK}${JSON.stringify(run).replace(/--/g, '-\\u002d')} -->`);
  return `${lines.join('\n').trimEnd()}\n`;
}

const reportPath = join(repository, 'BENCHMARKS.md');

/** The run BENCHMARKS.md holds the results of, or null. */
function storedRun() {
  const text = existsSync(reportPath) ? readFileSync(reportPath, 'utf8') : '';
  const at = text.lastIndexOf(RESULTS_MARK);
  return at < 0 ? null : JSON.parse(text.slice(at + RESULTS_MARK.length, text.indexOf(' -->', at)));
}

/**
 * One bench at a time on a machine, whichever checkout it runs from: on 2026-12-03 a webhook bench that shared the
 * machine with another bench and a test run put its p99 at 127–182 ms against 28–33 ms alone, and both runs' figures
 * were wrong. The lock holds the pid of the bench that took it; one whose process is gone is taken over.
 */
function takeBenchLock() {
  const lock = join(tmpdir(), 'syncline-bench.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(lock, 'wx');
      writeFileSync(fd, JSON.stringify({ pid: process.pid, repository, startedAt: new Date().toISOString() }));
      closeSync(fd);
      process.on('exit', () => {
        try {
          if (JSON.parse(readFileSync(lock, 'utf8')).pid === process.pid) unlinkSync(lock);
        } catch {
          // Gone already, or taken over: nothing of ours to remove.
        }
      });
      return null;
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
      const holder = lockHolder(lock);
      if (holder.pid && alive(holder.pid)) return `another bench is running (pid ${holder.pid}, since ${holder.startedAt}, in ${holder.repository}): wait for it, or stop it, and run this one on a quiet machine`;
      unlinkSync(lock);
    }
  }
  return `could not take ${lock}`;
}

/** What a lock file says; nothing when it is unreadable (being written, or not ours), so it counts as stale. */
function lockHolder(lock) {
  try {
    return JSON.parse(readFileSync(lock, 'utf8'));
  } catch {
    return {};
  }
}

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

let run;
if (!reportOnly) {
  const busy = takeBenchLock();
  if (busy) {
    process.stderr.write(`npm run bench: ${busy}\n`);
    process.exit(1);
  }
}
if (reportOnly) {
  run = storedRun();
  if (!run) {
    process.stderr.write('BENCHMARKS.md holds no results to report again: run the benches first\n');
    process.exit(0);
  }
} else {
  const started = new Date();
  const commit = git(['rev-parse', '--short', 'HEAD']);
  const dirty = git(['status', '--porcelain']);
  const revision = `${commit ?? 'unknown (not a git checkout)'}${dirty ? ' + uncommitted changes' : ''}`;
  const results = [];
  for (const bench of benches()) results.push({ ...(await runBench(bench)), measuredAt: started.toISOString(), commit: revision });
  // Named benches only: the other sections keep the results they had, each saying when and at which commit it ran.
  const stored = only.length > 0 ? storedRun() : null;
  const kept = (stored?.results ?? [])
    .filter((result) => !results.some((fresh) => fresh.name === result.name))
    .map((result) => ({ measuredAt: stored.startedAt, commit: stored.commit, ...result }));
  const rank = (result) => (BENCH_ORDER.includes(result.name) ? BENCH_ORDER.indexOf(result.name) : BENCH_ORDER.length);
  run = {
    startedAt: started.toISOString(),
    seconds: (Date.now() - started.getTime()) / 1000,
    commit: revision,
    host: machine(),
    runs,
    results: [...kept, ...results].sort((a, b) => rank(a) - rank(b)),
  };
}
const { results, seconds } = run;
writeFileSync(reportPath, report(run));

process.stdout.write('\n');
for (const result of results) {
  if (result.error) {
    process.stdout.write(`${result.name}: did not finish (${result.error.split('\n')[0]})\n`);
    continue;
  }
  for (const measurement of result.measurements) {
    const summary = summarize(measurement, result.measurements);
    if (summary.met === undefined) continue;
    const target = summary.target?.text ?? targetOf(results, result.name).replace(/`/g, '');
    // The report's verdict, in plain text for a terminal.
    process.stdout.write(`${result.name}: ${summary.title}: ${shown(summary)} — target ${target}: ${verdict(summary).replace('**not met**', 'NOT met').replaceAll('**', '')}\n`);
  }
}
process.stdout.write(`BENCHMARKS.md written (${Math.round(seconds)} s)\n`);
process.exitCode = 0;
