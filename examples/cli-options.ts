/**
 * The example programs' command-line checks (`npm start`, `npm run fleet`, the scale-out worker):
 * a bad value ends the program with exit code 2, the option named, the accepted range and what
 * was given, followed by the program's usage.
 */

export interface CliOptions {
  /** Prints `program: message` and the usage, and exits with code 2. */
  fail(message: string): never;
  /** "250ms", "10s", "2m", "1h" or plain milliseconds. */
  duration(option: string, text: string): number;
  /** A number in [min, max]; an integer unless `integer` is false. */
  number(option: string, text: string | undefined, min: number, max: number, integer?: boolean): number;
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function cliOptions(program: string, usage?: string): CliOptions {
  // Annotated, so that a call narrows the code after it (a `never` function must be declared with its type).
  const fail: (message: string) => never = (message) => {
    console.error(usage === undefined ? `${program}: ${message}` : `${program}: ${message}\n${usage}`);
    process.exit(2);
  };
  return {
    fail,
    duration(option, text) {
      const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
      if (!match) fail(`option --${option} must be a duration like 500ms, 10s, 2m (got "${text}")`);
      return Math.round(Number(match[1]) * (UNIT_MS[match[2] ?? 'ms'] ?? 1));
    },
    number(option, text, min, max, integer = true) {
      const n = Number(text);
      if (text === undefined || !Number.isFinite(n) || (integer && !Number.isInteger(n)) || n < min || n > max) {
        fail(`option --${option} must be ${integer ? 'an integer' : 'a number'} in [${min}, ${max}] (got "${text}")`);
      }
      return n;
    },
  };
}
