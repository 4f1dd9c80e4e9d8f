import { type DestinationStream, type Logger, pino } from "pino";

export type LogLevel = "trace" | "debug" | "info" | "warn" | "error" | "fatal";
export type { Logger };

export interface LoggerOptions {
  /** From `node.log_level`. */
  readonly level: LogLevel;
  /** Every line carries it as `node`. */
  readonly nodeId: string;
  /** Where the JSON lines go; standard output unless given (tests pass a stream). */
  readonly destination?: DestinationStream;
}

/**
 * One JSON object per line: `level` (as a label), `time` (ISO 8601), `node`, `msg` and the
 * fields given. Errors logged as `{ err }` carry their `code` and `cause`.
 */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: { node: options.nodeId },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label: string) => ({ level: label }) },
  };
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
