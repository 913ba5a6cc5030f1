/**
 * Bolt and its WebClient log through this adapter into the project's pino logger, so their
 * lines carry the same structure (and redaction) as ours.
 */
import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import type { Logger } from '../../lib/logger.ts';

function text(parts: unknown[]): string {
  return parts.map((part) => (typeof part === 'string' ? part : part instanceof Error ? part.message : JSON.stringify(part))).join(' ');
}

export function boltLogger(logger: Logger): BoltLogger {
  let child = logger.child({ component: 'slack-bolt' });
  return {
    debug: (...parts: unknown[]) => child.debug(text(parts)),
    info: (...parts: unknown[]) => child.info(text(parts)),
    warn: (...parts: unknown[]) => child.warn(text(parts)),
    error: (...parts: unknown[]) => child.error(text(parts)),
    // Levels are the project's configuration, not Bolt's.
    setLevel: () => undefined,
    getLevel: () => (child.isLevelEnabled('debug') ? LogLevel.DEBUG : child.isLevelEnabled('info') ? LogLevel.INFO : LogLevel.WARN),
    setName: (name: string) => {
      child = logger.child({ component: name });
    },
  };
}
