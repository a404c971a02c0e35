/**
 * Logging: anything console-like works, and so does pino (calls are `(fields, message)`).
 */
export type LogMethod = (fields: Record<string, unknown>, message: string) => void;

export interface Logger {
  debug?: LogMethod;
  info: LogMethod;
  warn: LogMethod;
  error: LogMethod;
}

const noop: LogMethod = () => {};

/** A logger that says nothing. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };

/** Logs to the console as `message {fields}`; debug is off. */
export const consoleLogger: Logger = {
  info: (fields, message) => console.info(`rxprom: ${message}`, fields),
  warn: (fields, message) => console.warn(`rxprom: ${message}`, fields),
  error: (fields, message) => console.error(`rxprom: ${message}`, fields),
};
