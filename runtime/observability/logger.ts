import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  level?: string;
  destination?: DestinationStream;
  /**
   * Write the full log to this file and only warnings and errors to stderr: for `syncline start`, where a person
   * reads the terminal. Without it every line goes to stdout, as a server's log should.
   */
  file?: string;
}

/**
 * The runtime's structured logger: JSON lines with `flowId`, `runId` and `recordId` fields where they apply.
 * Anything that could hold a secret is censored by path, as a second line of defence behind never logging values.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? process.env.SYNCLINE_LOG_LEVEL ?? 'info';
  const destination =
    options.destination ??
    (options.file
      ? pino.multistream([
          { level: 'warn', stream: pino.destination({ dest: 2, sync: false }) },
          { level: level as pino.Level, stream: pino.destination({ dest: options.file, sync: false, mkdir: true }) },
        ])
      : pino.destination({ dest: 1, sync: false }));
  return pino(
    {
      name: 'syncline',
      level,
      redact: {
        paths: ['value', '*.value', 'secret', '*.secret', 'token', '*.token', 'authorization', '*.authorization', 'headers.authorization'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

/** A logger that writes nothing, for tests. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
