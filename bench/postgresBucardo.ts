/**
 * Bucardo, the peer of the postgres bench: its configuration database in the bench's throwaway cluster, one pair of
 * databases at a time, and its daemon started and stopped by the bench.
 *
 * Followed from Bucardo 5's own documentation (`man bucardo`, bucardo.org/Bucardo/; the Debian package 5.6.0):
 *   - `bucardo install --batch --dbhost … --dbport … --dbuser postgres --dbname postgres --pid-dir …` creates the
 *     `bucardo` superuser and database in an existing cluster without asking ("install");
 *   - `bucardo add db <name> dbname=… host=… port=… user=bucardo` ("add db"), `bucardo add table public.contacts
 *     db=<name> relgroup=<group>` ("add table");
 *   - `bucardo add sync <name> relgroup=… dbs=a:source,b:source conflict_strategy=bucardo_latest` is a two-way
 *     (multi-source) sync where the most recently changed row wins ("add sync", conflict_strategy);
 *   - a multi-source sync copies changes only, recorded by its triggers from the moment it is validated; rows that
 *     were there before are copied by a sync with `onetimecopy=2` ("only copy tables that are empty on the target"),
 *     which takes a single source and copies to its `target` databases. The bench's initial sync is that: a one-way
 *     sync A:source → B:target with onetimecopy=2; the two-way sync is activated once it is done ("activate",
 *     "deactivate");
 *   - `--no-bucardorc` keeps /etc/bucardorc (the package's, for a server on 5432) out of it ("--bucardorc"); `bucardo
 *     start --log-destination DIR` ("start"); `bucardo stop` asks every MCP, CTL and KID process to exit, after which
 *     the process list is to be checked ("stop"); `bucardo kick <sync> 0` returns once the sync has run ("kick");
 *   - stayalive and kidsalive default to true (bucardo.schema): the controller and kid of a sync stay connected
 *     between runs, so a change is applied by a process already running.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, processTree, type Cluster, type RunResult } from './postgresCluster';

/** How to get Bucardo for the server in `postgresBin` (Debian's /usr/lib/postgresql/<version>/bin), said when it is missing. */
export function bucardoInstallHint(postgresBin: string): string {
  const version = /postgresql\/(\d+)\/bin\/?$/.exec(postgresBin)?.[1] ?? '<server version>';
  return `install it with "apt-get install -y bucardo postgresql-plperl-${version}" (Debian, Ubuntu) and run the bench again`;
}

/** Why Bucardo cannot run beside this cluster, or null when it can. */
export function bucardoUnavailable(postgresBin: string): string | null {
  const onPath = (process.env.PATH ?? '').split(':').some((dir) => dir && existsSync(join(dir, 'bucardo')));
  if (!onPath) return `Bucardo is not installed (no "bucardo" on PATH): ${bucardoInstallHint(postgresBin)}`;
  // Bucardo's functions are PL/Perl (plperlu), which comes in a package of its own for each server version.
  if (!existsSync(join(postgresBin, '..', 'lib', 'plperl.so'))) return `PL/Perl is not installed for the PostgreSQL in ${postgresBin}: ${bucardoInstallHint(postgresBin)}`;
  return null;
}

export class Bucardo {
  private constructor(
    private readonly cluster: Cluster,
    /** pid files, logs, the stop file and the reason file; lower case, as Bucardo lower-cases its piddir. */
    private readonly dir: string,
    readonly version: string,
  ) {}

  /** `bucardo install` into the cluster, in a fresh `bucardo` database (dropped first when one is there). */
  static async install(cluster: Cluster, dir: string): Promise<Bucardo> {
    mkdirSync(dir, { recursive: true });
    await cluster.dropDatabase('bucardo');
    await run('bucardo', ['install', '--batch', '--no-bucardorc', '--dbhost', '127.0.0.1', '--dbport', String(cluster.port), '--dbuser', 'postgres', '--dbname', 'postgres', '--pid-dir', dir], { cwd: dir });
    const version = (await run('bucardo', ['--version'])).stdout.trim().replace(/^bucardo version /, '');
    const bucardo = new Bucardo(cluster, dir, version);
    // Its defaults write under /var/log/bucardo; everything of this run stays in the bench's folder.
    await bucardo.cli(['set', `log_conflict_file=${join(dir, 'conflict.log')}`, `reason_file=${join(dir, 'reason')}`, `piddir=${dir}`]);
    return bucardo;
  }

  /** A `bucardo` command against this cluster's configuration database. */
  cli(args: readonly string[], check = true): Promise<RunResult> {
    const connection = ['--no-bucardorc', '--dbhost', '127.0.0.1', '--dbport', String(this.cluster.port), '--dbuser', 'bucardo', '--dbname', 'bucardo'];
    return run('bucardo', [...connection, ...args], { cwd: this.dir, check });
  }

  /**
   * The pair, its table, the one-way `seed` sync that makes the initial copy (active) and the two-way sync (inactive
   * until the initial copy is done).
   */
  async configure(a: string, b: string): Promise<void> {
    const connection = (name: string) => [`dbname=${name}`, 'host=127.0.0.1', `port=${this.cluster.port}`, 'user=bucardo'];
    await this.cli(['add', 'db', 'a', ...connection(a)]);
    await this.cli(['add', 'db', 'b', ...connection(b)]);
    await this.cli(['add', 'table', 'public.contacts', 'db=a', 'relgroup=contacts']);
    await this.cli(['add', 'sync', 'seed', 'relgroup=contacts', 'dbs=a:source,b:target', 'onetimecopy=2']);
    await this.cli(['add', 'sync', 'twoway', 'relgroup=contacts', 'dbs=a:source,b:source', 'conflict_strategy=bucardo_latest', 'status=inactive']);
  }

  /** Starts the daemon: its active syncs (the seed) run at once. */
  async start(): Promise<void> {
    await this.cli(['start', '--log-destination', this.dir, 'bench']);
  }

  /** After the initial copy: the seed sync off, the two-way sync on and run once, so its processes are up. */
  async switchToTwoWay(): Promise<void> {
    await this.cli(['deactivate', 'seed', '60']);
    await this.cli(['activate', 'twoway', '60']);
    await this.cli(['kick', 'twoway', '120']);
  }

  /** The MCP process, root of every Bucardo process; null when it is not running. */
  mcpPid(): number | null {
    const file = join(this.dir, 'bucardo.mcp.pid');
    if (!existsSync(file)) return null;
    // The pid is the first line; the invocation and the start time follow (Bucardo.pm, create_mcp_pid_file).
    const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
    return Number.isInteger(pid) && pid > 0 && existsSync(`/proc/${pid}`) ? pid : null;
  }

  /** The last lines of Bucardo's log, for a failure message. */
  logTail(lines = 20): string {
    const file = join(this.dir, 'log.bucardo');
    return existsSync(file) ? readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n') : '(no log)';
  }

  /**
   * `bucardo stop`, then waits for every process of the daemon to be gone (stop only asks: a running sync finishes
   * first). Processes still there after `graceMs` are sent SIGTERM by pid: they are the ones this bench started.
   */
  async stop(graceMs = 60_000): Promise<void> {
    const mcp = this.mcpPid();
    if (mcp === null) return;
    const pids = processTree(mcp);
    await this.cli(['stop', 'bench done'], false);
    const deadline = Date.now() + graceMs;
    const alive = () => pids.filter((pid) => existsSync(`/proc/${pid}`) && !isZombie(pid));
    while (alive().length > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    for (const pid of alive()) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // Gone meanwhile.
      }
    }
  }
}

function isZombie(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return false;
  }
}
