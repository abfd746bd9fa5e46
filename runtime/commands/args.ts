/** One command-line argument, and the way to take the argument after it as its value. */
export interface CommandArg {
  arg: string;
  /**
   * The next argument, taken as this option's value (the walk goes on after it). Throws "<option> needs <what>" when
   * there is none, or when the next one is an option itself.
   */
  value(what?: string): string;
}

/** Walks a command's arguments one at a time, each with `value()` for options that take one. */
export function* commandArgs(args: readonly string[]): Generator<CommandArg> {
  for (let index = 0; index < args.length; index++) {
    const arg = args[index] as string;
    yield {
      arg,
      value: (what = 'a value') => {
        const next = args[index + 1];
        if (next === undefined || next.startsWith('--')) throw new Error(`${arg} needs ${what}`);
        index += 1;
        return next;
      },
    };
  }
}
