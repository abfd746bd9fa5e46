/** The `syncline` command line (SPEC §8): each command lives in `runtime/commands/`, loaded only when used. */

const usage = `usage:
  syncline validate FLOW.json [--samples SAMPLES.json]
  syncline run FLOW.json --once [--state FILE.db|URL] [--dry-run] [--allow-files DIR]... [--allow-hosts LIST]...
  syncline serve [--port N] [--data DIR] [--state URL] [--allow-files DIR]... [--allow-hosts LIST]...
                                      --state postgres://USER@HOST:PORT/DB?schema=NAME (or SYNCLINE_STATE_URL)
                                      keeps the state and webhook inbox in PostgreSQL
  syncline worker --state URL [--data DIR]
                                      a process of the cluster on that PostgreSQL state that takes passes and
                                      serves no HTTP (docs/scale-out.md)
  syncline credentials add NAME --type token|basic|oauth2 [--state FILE.db|URL] [--username U]
                                      store a secret read from standard input, encrypted in the state
  syncline credentials list [--state FILE.db|URL]   names and types, never values
  syncline credentials remove NAME [--state FILE.db|URL]
  syncline state copy --from FILE.db|URL --to URL|FILE.db
                                      copy the whole state and webhook inbox into an empty PostgreSQL schema
                                      (or back into a new file), keeping ids; prints the rows per table
  syncline start [--port N] [--data DIR]
                                      serve with the demo (default port 4777, data folder ./.syncline), building
                                      the editor if needed; takes serve's options. From a checkout:
                                      npm start -- --port 8080 --data ~/syncline-data

What a flow may reach: files in the flow file's folder (run) or the data folder (serve), never Syncline's own state,
key or token; public hosts. More folders with --allow-files DIR (or SYNCLINE_ALLOW_FILES), loopback and private hosts
with --allow-hosts 127.0.0.1:8080,db.internal,10.0.0.0/8 or "private" (or SYNCLINE_ALLOW_HOSTS). Link-local and cloud
metadata addresses are never reachable (docs/connectors.md, "What a flow may reach").`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import('./commands/validate')).validateCommand,
  // The command runs on a worker thread; the main thread only watches it for SIGINT and SIGTERM (runSupervisor.ts).
  run: async () => (await import('./commands/runSupervisor')).superviseRunCommand,
  serve: async () => (await import('./commands/serve')).serveCommand,
  worker: async () => (await import('./commands/serve')).workerCommand,
  start: async () => (await import('./commands/start')).startCommand,
  credentials: async () => (await import('./commands/credentials')).credentialsCommand,
  state: async () => (await import('./commands/stateCopy')).stateCommand,
};

/** Runs one command and returns the process exit code. */
export async function main(argv: string[]): Promise<number> {
  const [name, ...args] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(`${usage}\n`);
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    process.stderr.write(`syncline: unknown command "${name}"\n${usage}\n`);
    return 2;
  }
  return (await load())(args);
}
