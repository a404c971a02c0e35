import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DropLog } from '../../src/remote-write/drop-log.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';

function setup(): { log: DropLog; lines: string[]; clock: { now: number } } {
  const lines: string[] = [];
  const logger: Logger = { ...silentLogger, warn: (fields, message) => void lines.push(`${message} | ${String(fields['example'])}`) };
  const clock = { now: 0 };
  return { log: new DropLog(logger, 10_000, () => clock.now), lines, clock };
}

describe('DropLog', () => {
  it('logs the first drop of a reason at once, sums later ones and logs them after the interval', () => {
    const { log, lines, clock } = setup();
    log.dropped('invalid', 'first');
    for (let i = 0; i < 5; i++) {
      clock.now += 1000;
      log.dropped('invalid', `later ${i}`);
    }
    assert.deepEqual(lines, ['dropped 1 sample(s): invalid | first']);
    clock.now = 10_000;
    log.dropped('invalid', 'after the interval');
    assert.deepEqual(lines, ['dropped 1 sample(s): invalid | first', 'dropped 6 sample(s): invalid | after the interval']);
  });

  it('keeps each reason apart', () => {
    const { log, lines, clock } = setup();
    log.dropped('invalid', 'a');
    log.dropped('out-of-order', 'b');
    log.dropped('invalid', 'c');
    clock.now += 500;
    log.dropped('out-of-order', 'd');
    assert.deepEqual(lines, ['dropped 1 sample(s): invalid | a', 'dropped 1 sample(s): out-of-order | b']);
    log.flush();
    assert.deepEqual(lines.slice(2), ['dropped 1 sample(s): invalid | c', 'dropped 1 sample(s): out-of-order | d']);
  });

  it('flush logs what is summed with its last example, once', () => {
    const { log, lines } = setup();
    log.dropped('duplicate', 'one');
    log.dropped('duplicate', 'two');
    log.dropped('duplicate', 'three');
    log.flush();
    log.flush();
    assert.deepEqual(lines, ['dropped 1 sample(s): duplicate | one', 'dropped 2 sample(s): duplicate | three']);
  });
});
