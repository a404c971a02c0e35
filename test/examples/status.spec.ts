/**
 * The status table of `npm start` on a terminal: redrawn in place, and a line printed through
 * `note` (the "draining" line after Ctrl-C) stays on screen under later redraws.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { statusDisplay, type StatusRow } from '../../examples/status.js';

/** Just enough of a terminal for the display: text, newline, clear line (ESC[2K), cursor up n lines to column 0 (ESC[nF). */
class FakeTerminal {
  readonly isTTY = true;
  lines: string[] = [''];
  private row = 0;
  private column = 0;
  write(chunk: string): boolean {
    for (let i = 0; i < chunk.length; i++) {
      const escape = /^\x1b\[(\d*)([A-Za-z])/.exec(chunk.slice(i));
      if (escape) {
        const n = Number(escape[1] || '1');
        if (escape[2] === 'F') {
          this.row = Math.max(0, this.row - n);
          this.column = 0;
        } else if (escape[2] === 'K') {
          this.lines[this.row] = '';
        }
        i += escape[0].length - 1;
      } else if (chunk[i] === '\n') {
        this.row++;
        this.column = 0;
        if (this.lines.length <= this.row) this.lines.push('');
      } else {
        const line = this.lines[this.row].padEnd(this.column);
        this.lines[this.row] = line.slice(0, this.column) + chunk[i] + line.slice(this.column + 1);
        this.column++;
      }
    }
    return true;
  }
  screen(): string[] {
    return this.lines.filter((line, i) => line !== '' || i < this.lines.length - 1);
  }
}

const rows = (written: number): StatusRow[] => [
  ['events in', '1,000'],
  ['written', `${written} samples`],
  ['pending', '0 samples'],
];

describe('statusDisplay on a terminal', () => {
  it('redraws the table in place', () => {
    const terminal = new FakeTerminal();
    const display = statusDisplay(terminal as unknown as NodeJS.WriteStream);
    display.update(rows(1));
    display.update(rows(2));
    display.update(rows(3));
    assert.deepEqual(terminal.screen(), ['  events in  1,000', '  written    3 samples', '  pending    0 samples']);
  });

  it('keeps a noted line (the draining line) under later redraws, with the latest table below it', () => {
    const terminal = new FakeTerminal();
    const display = statusDisplay(terminal as unknown as NodeJS.WriteStream);
    display.update(rows(1));
    display.update(rows(2));
    display.note('\nCtrl-C: draining…');
    display.update(rows(3));
    display.update(rows(4));
    display.done();
    assert.deepEqual(terminal.screen(), [
      '  events in  1,000',
      '  written    2 samples',
      '  pending    0 samples',
      '',
      'Ctrl-C: draining…',
      '  events in  1,000',
      '  written    4 samples',
      '  pending    0 samples',
    ]);
  });
});
