import { pino, type Logger, type DestinationStream } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

/** Keys whose values never reach a log line, wherever they appear in a logged object. */
const REDACTED_PATHS = [
  'token',
  'password',
  'secret',
  'authorization',
  '*.token',
  '*.password',
  '*.secret',
  '*.authorization',
  'req.headers.authorization',
  'headers.authorization',
  'inputs.*.secret',
];

export type LogFormat = 'json' | 'pretty';

export interface LoggerOptions {
  level?: string;
  name?: string;
  /** `json` (one object a line, for log shippers) or `pretty` (for a person at a terminal). */
  format?: LogFormat;
  destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const config = {
    level: options.level ?? 'info',
    name: options.name ?? 'deputy',
    redact: { paths: REDACTED_PATHS, censor: '********' },
  };
  // A synchronous pretty stream, not a transport: transports run in worker threads without our loader.
  const destination =
    options.destination ?? (options.format === 'pretty' ? pinoPretty({ colorize: true, translateTime: 'SYS:HH:MM:ss', ignore: 'pid,hostname' }) : undefined);
  return destination ? pino(config, destination) : pino(config);
}

/** A logger that writes nothing, for tests that do not inspect logs. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
