import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EMPTY, type Observable } from 'rxjs';
import { AcknowledgedSourceBase } from '../../src/sources/acknowledged-base.js';
import { isPausable, type Positioned } from '../../src/sources/acknowledged.js';
import { JournalSource } from '../../src/sources/journal.js';
import { MqttSource } from '../../src/sources/mqtt/source.js';
import { JetStreamSource } from '../../src/sources/jetstream/source.js';
import { jsonPayload } from '../../src/sources/mqtt/payload.js';

/** The base with its seams opened for the test; commit records like the journal's. */
class TestSource extends AcknowledgedSourceBase<string> {
  constructor(positionName = 'test position', positionRule?: string) {
    super(positionName, positionRule);
  }
  resumeFrom(): Observable<Positioned<string, number>> {
    return EMPTY;
  }
  async commit(position: number): Promise<void> {
    this.advanceCommitted(position);
  }
  check(position: number): RangeError | undefined {
    return this.invalidPosition(position);
  }
  advance(position: number): boolean {
    return this.advanceCommitted(position);
  }
  wakeAll(): void {
    this.wake();
  }
  wait(ms?: number, exposeWake?: (wake: () => void) => void): Promise<void> {
    return this.waitForChange(ms, exposeWake);
  }
}

/** Which of `waits` have settled, by index, after the microtasks queued so far have run. */
async function settled(waits: Promise<void>[]): Promise<number[]> {
  const done: number[] = [];
  waits.forEach((wait, i) => void wait.then(() => done.push(i)));
  await new Promise<void>((resolve) => setImmediate(resolve));
  return done.sort();
}

describe('AcknowledgedSourceBase', () => {
  it('orders positions numerically', () => {
    const source = new TestSource();
    assert.ok(source.comparePositions(2, 10) < 0);
    assert.ok(source.comparePositions(10, 2) > 0);
    assert.equal(source.comparePositions(7, 7), 0);
  });

  it('accepts non-negative safe integers as positions, and words the error for the rest with the source\'s names', () => {
    const source = new TestSource('JetStream position', 'a non-negative integer stream sequence');
    assert.equal(source.check(0), undefined);
    assert.equal(source.check(Number.MAX_SAFE_INTEGER), undefined);
    for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, Number.MAX_SAFE_INTEGER + 1]) {
      const error = source.check(bad);
      assert.ok(error instanceof RangeError, String(bad));
      assert.equal(error.message, `rxprom: JetStream position must be a non-negative integer stream sequence (got ${bad})`);
    }
    assert.equal(new TestSource('journal position').check(-3)?.message, 'rxprom: journal position must be a non-negative integer (got -3)');
  });

  it('moves the committed position forward only, and says whether it moved', async () => {
    const source = new TestSource();
    assert.equal(source.committed, undefined);
    assert.equal(source.advance(0), true, 'the first commit moves it, even at 0');
    assert.equal(source.committed, 0);
    assert.equal(source.advance(5), true);
    assert.equal(source.advance(5), false, 'the same position again');
    assert.equal(source.advance(3), false, 'an earlier one');
    assert.equal(source.committed, 5);
    assert.throws(() => source.advance(-1), /test position must be a non-negative integer \(got -1\)/);
    await assert.rejects(source.commit(-1), /test position must be a non-negative integer \(got -1\)/);
    assert.equal(source.committed, 5, 'a rejected commit changes nothing');
  });

  it('pauses and resumes, and is recognised as pausable', () => {
    const source = new TestSource();
    assert.equal(isPausable(source), true);
    assert.equal(source.paused, false);
    source.pause();
    source.pause();
    assert.equal(source.paused, true);
    source.resume();
    assert.equal(source.paused, false);
  });

  it('wakes every waiting reader on resume, and only those waiting then', async () => {
    const source = new TestSource();
    source.pause();
    const first = [source.wait(), source.wait()];
    assert.deepEqual(await settled(first), [], 'nothing wakes them while paused');
    source.resume();
    assert.deepEqual(await settled(first), [0, 1]);
    const later = [source.wait()];
    source.pause();
    assert.deepEqual(await settled(later), [], 'a wait that began after the resume goes on');
    source.wakeAll();
    assert.deepEqual(await settled(later), [0], 'wake() ends it as resume() would');
  });

  it('ends one wait on its own when the reader calls the wake it was handed, leaving the others waiting', async () => {
    const source = new TestSource();
    let wakeFirst: (() => void) | undefined;
    const waits = [source.wait(undefined, (wake) => (wakeFirst = wake)), source.wait()];
    assert.ok(wakeFirst);
    wakeFirst();
    assert.deepEqual(await settled(waits), [0]);
    source.resume();
    assert.deepEqual(await settled(waits), [0, 1]);
  });

  it('ends a wait after its time when nothing wakes it first', async () => {
    const source = new TestSource();
    const short = source.wait(5);
    const long = source.wait(600_000);
    await short; // by its timer alone: nothing wakes it
    assert.deepEqual(await settled([long]), [], 'the longer one still waits');
    source.wakeAll();
    assert.deepEqual(await settled([long]), [0], 'and a wake ends it (its timer cleared: the process does not wait for it)');
  });
});

describe('the sources on AcknowledgedSourceBase', () => {
  it('journal, MQTT and JetStream sources share its bookkeeping, each with its own position wording', async () => {
    const journal = new JournalSource({ path: '/nonexistent/journal.jsonl' });
    // Constructing neither connects: the clients are made on subscription.
    const mqtt = new MqttSource({ url: 'mqtt://127.0.0.1:1', clientId: 'base-spec', topics: 'a/{b}', payload: jsonPayload({ value: 'v' }) });
    const jetstream = new JetStreamSource({ servers: 'nats://127.0.0.1:1', stream: 'S', durable: 'd' });
    for (const source of [journal, mqtt, jetstream]) {
      assert.ok(source instanceof AcknowledgedSourceBase);
      source.pause();
      assert.equal(source.paused, true);
      source.resume();
      assert.equal(source.paused, false);
    }
    await assert.rejects(journal.commit(-1), { name: 'RangeError', message: 'rxprom: journal position must be a non-negative integer (got -1)' });
    await assert.rejects(mqtt.commit(1.5), { name: 'RangeError', message: 'rxprom: MQTT position must be a non-negative integer (got 1.5)' });
    await assert.rejects(jetstream.commit(-2), { name: 'RangeError', message: 'rxprom: JetStream position must be a non-negative integer stream sequence (got -2)' });
    await journal.commit(40);
    await journal.commit(12);
    assert.equal(journal.committed, 40, 'the journal keeps the furthest commit');
    await mqtt.commit(3);
    assert.equal(mqtt.committed, 3, 'MQTT records a commit with no session open');
    await jetstream.close();
  });
});
