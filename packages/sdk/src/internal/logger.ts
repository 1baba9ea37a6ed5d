import { FleeceError } from '../core/errors.js';
import { readEnv } from './env.js';

/** How much the client logs, least to most: `off`, `error`, `warn` (the default), `info`, `debug`. */
export type LogLevel = 'off' | 'error' | 'warn' | 'info' | 'debug';

/**
 * Where the client logs: an object with `error`, `warn`, `info` and `debug` methods (such as `console`,
 * pino or winston). Each is called with a message and, for requests, an object of safe fields.
 */
export interface Logger {
  error(message: string, ...rest: unknown[]): void;
  warn(message: string, ...rest: unknown[]): void;
  info(message: string, ...rest: unknown[]): void;
  debug(message: string, ...rest: unknown[]): void;
}

const RANK: Record<LogLevel, number> = { off: 0, error: 1, warn: 2, info: 3, debug: 4 };

/** Whether `value` is a {@link LogLevel}. */
export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && Object.hasOwn(RANK, value);
}

/**
 * The level in force: the `logLevel` option, else the `FLEECE_LOG` environment variable, else `warn`.
 * An unknown `FLEECE_LOG` value is ignored, with a warning on `logger` (as openai-node treats
 * `OPENAI_LOG`).
 *
 * @throws {FleeceError} when the `logLevel` option is not a {@link LogLevel}.
 */
export function resolveLogLevel(option: unknown, logger: Logger): LogLevel {
  if (option !== undefined) {
    if (!isLogLevel(option)) {
      throw new FleeceError(
        `\`logLevel\` must be one of ${Object.keys(RANK).join(', ')}, got ${JSON.stringify(option)}`,
      );
    }
    return option;
  }
  const env = readEnv('FLEECE_LOG')?.toLowerCase();
  if (env === undefined) return 'warn';
  if (isLogLevel(env)) return env;
  logger.warn(
    `FLEECE_LOG=${JSON.stringify(env)} is not a log level (${Object.keys(RANK).join(', ')}); ignored`,
  );
  return 'warn';
}

/**
 * A logger that passes on only messages at `level` or more severe. The SDK logs no header, body, query
 * string or credential: only the fields its call sites choose (method, path, status, time, request id).
 */
export function levelLogger(level: LogLevel, logger: Logger): Logger {
  const at = RANK[level];
  const noop = () => {};
  const pick = (name: Exclude<LogLevel, 'off'>) =>
    at >= RANK[name] ? (message: string, ...rest: unknown[]) => logger[name](message, ...rest) : noop;
  return { error: pick('error'), warn: pick('warn'), info: pick('info'), debug: pick('debug') };
}
