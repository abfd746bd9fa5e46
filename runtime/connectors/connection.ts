import { ConnectorError } from './types';

export type ConnectionProblem = { path: (string | number)[]; message: string };

/** Refuses a connection its connector's check found problems with, naming each one. */
export function throwIfConnectionProblems(problems: readonly ConnectionProblem[]): void {
  if (problems.length === 0) return;
  throw new ConnectorError(problems.map((problem) => `connection.${problem.path.join('.')}: ${problem.message}`).join('; '));
}
