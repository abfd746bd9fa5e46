/** The `syncline` command line (SPEC §8): each command lives in `runtime/commands/`, loaded only when used. */

const usage = `usage:
  syncline validate FLOW.json [--samples SAMPLES.json]
  syncline run FLOW.json --once [--state FILE.db] [--dry-run]
  syncline serve [--port N] [--data DIR]
  syncline start                      serve with the demo on ./.syncline, building the editor if needed`;

type Command = (args: string[]) => Promise<number>;

const commands: Record<string, () => Promise<Command>> = {
  validate: async () => (await import('./commands/validate')).validateCommand,
  run: async () => (await import('./commands/run')).runCommand,
  serve: async () => (await import('./commands/serve')).serveCommand,
  start: async () => (await import('./commands/start')).startCommand,
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
