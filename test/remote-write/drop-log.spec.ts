import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject, VirtualAction, VirtualTimeScheduler } from 'rxjs';
import { DropLog } from '../../src/remote-write/drop-log.js';
import { silentLogger, type Logger } from '../../src/core/logger.js';
import { remoteWrite } from '../../operators/remote-write.js';
import type { Sample } from '../../src/core/model.js';
import { ScriptedClient } from './scripted-client.js';

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

  it('logs what it summed once the interval has passed, though no later drop comes (logDue)', () => {
    const { log, lines, clock } = setup();
    log.dropped('invalid', 'first');
    log.dropped('invalid', 'second');
    log.dropped('out-of-order', 'other');
    clock.now = 9_999;
    log.logDue();
    assert.deepEqual(lines, ['dropped 1 sample(s): invalid | first', 'dropped 1 sample(s): out-of-order | other'], 'not before the interval');
    clock.now = 10_000;
    log.logDue();
    log.logDue();
    assert.deepEqual(lines.slice(2), ['dropped 1 sample(s): invalid | second'], 'once, when due');
    // The sum just logged starts a new interval: the next drop is summed, not logged at once.
    clock.now = 10_001;
    log.dropped('invalid', 'third');
    assert.equal(lines.length, 3);
    log.flush();
    assert.deepEqual(lines.slice(3), ['dropped 1 sample(s): invalid | third']);
  });

  it('a clock stepped back does not hold the sums back until it has caught up', () => {
    const { log, lines, clock } = setup();
    clock.now = 7_200_000;
    log.dropped('invalid', 'first');
    log.dropped('invalid', 'second');
    clock.now = 3_600_000; // the wall clock is stepped back an hour (NTP)
    log.logDue();
    assert.deepEqual(lines, ['dropped 1 sample(s): invalid | first', 'dropped 1 sample(s): invalid | second']);
    clock.now += 10_000;
    log.dropped('invalid', 'third');
    assert.deepEqual(lines.slice(2), ['dropped 1 sample(s): invalid | third'], 'the interval runs from the new time');
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

describe('remoteWrite: the drop log', () => {
  it('logs drops summed up during a burst once the interval has passed, while the pipeline runs on quietly', async () => {
    const scheduler = new VirtualTimeScheduler(VirtualAction, 0);
    const warnings: Array<Record<string, unknown>> = [];
    const logger: Logger = { ...silentLogger, warn: (fields) => void warnings.push(fields) };
    const sink = remoteWrite({ url: 'http://127.0.0.1:1/api/v1/write', client: new ScriptedClient(), scheduler, maxDelayMs: 60_000, logger });
    const source = new Subject<Sample>();
    const subscription = source.pipe(sink).subscribe();
    for (let i = 0; i < 5; i++) source.next({ labels: { __name__: 'm' }, value: 'x' as never, timestamp: 1_700_000_000_000 + i });
    assert.deepEqual(warnings.map((w) => [w['reason'], w['samples']]), [['invalid', 1]]);
    scheduler.maxFrames = 11_000;
    scheduler.flush();
    assert.deepEqual(warnings.map((w) => [w['reason'], w['samples']]), [['invalid', 1], ['invalid', 4]], 'the burst is in the log without waiting for another drop or the end');
    assert.equal(sink.metrics.snapshot().samplesDropped.invalid, 5);
    subscription.unsubscribe();
    assert.equal(warnings.length, 2, 'nothing logged twice');
  });
});
