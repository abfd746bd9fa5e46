/** The value after `--name` on the command line of a bench script, if any: every bench takes its options this way. */
export function option(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index < 0 ? undefined : process.argv[index + 1];
}
