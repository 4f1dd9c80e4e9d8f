// Structured logs: pino, JSON lines on standard output.
export { createLogger, type Logger, type LoggerOptions, type LogLevel } from "./logger.js";
