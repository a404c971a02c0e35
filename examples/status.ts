/**
 * A live status display for long-running examples: a small table redrawn in place on a TTY,
 * one plain line per refresh otherwise (logs, CI, pipes).
 */
import type { WriteStream } from 'node:tty';

export type StatusRow = readonly [label: string, value: string];

export interface StatusDisplay {
  update(rows: readonly StatusRow[]): void;
  /**
   * Prints a line (e.g. "draining…") below the table; the next update draws a new table under it
   * rather than redrawing the old one in place, which would overwrite the line.
   */
  note(line: string): void;
  /** Leaves the last table on screen and moves below it. */
  done(): void;
}

export function statusDisplay(stream: NodeJS.WriteStream = process.stdout): StatusDisplay {
  const tty = (stream as Partial<WriteStream>).isTTY === true;
  let drawn = 0;
  return {
    update(rows) {
      if (!tty) {
        stream.write(rows.map(([label, value]) => `${label}=${value}`).join(' ') + '\n');
        return;
      }
      const width = Math.max(...rows.map(([label]) => label.length));
      // Move to the top of the previous table and overwrite it line by line.
      let out = drawn > 0 ? `\x1b[${drawn}F` : '';
      for (const [label, value] of rows) out += `\x1b[2K  ${label.padEnd(width)}  ${value}\n`;
      stream.write(out);
      drawn = rows.length;
    },
    note(line) {
      stream.write(`${line}\n`);
      drawn = 0;
    },
    done() {
      drawn = 0;
    },
  };
}

/** 1234567 → "1,234,567". */
export const formatCount = (n: number): string => Math.round(n).toLocaleString('en-US');

/** Samples per second over an interval. */
export const formatRate = (n: number, ms: number): string => `${formatCount((n * 1000) / Math.max(1, ms))}/s`;
