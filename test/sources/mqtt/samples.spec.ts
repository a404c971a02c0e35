import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { from, lastValueFrom, map, toArray } from 'rxjs';
import { ConfigError } from '../../../src/core/errors.js';
import type { Positioned } from '../../../src/sources/acknowledged.js';
import type { Reading } from '../../../src/sources/mqtt/payload.js';
import { MAX_OTHER_METRICS, mqttSamples, readingToSample } from '../../../src/sources/mqtt/samples.js';
import type { MqttMessage } from '../../../src/sources/mqtt/source.js';
import { topicLabels } from '../../../src/sources/mqtt/topic-labels.js';
import { remoteWrite } from '../../../operators/remote-write.js';
import { startReceiver } from '../../../src/testing/receiver/server.js';
import { SeriesInterner, type SeriesRecord } from '../../../src/remote-write/series-interner.js';

const mapper = topicLabels('sensors/{site}/{room}/{device}');

/** A message as the source builds it: its labels from the topic mapping. */
function message(topic: string, value: number, timestamp: number): MqttMessage<Reading> {
  const match = mapper.match(topic);
  if (!match.matched) throw new Error(match.reason);
  return { topic, labels: match.labels, value: { value, timestamp }, receivedAt: timestamp, redelivered: false };
}

describe('readingToSample and mqttSamples', () => {
  it('give the same frozen sample labels for the same topic labels object and metric', () => {
    const one = readingToSample(message('sensors/lyon/r1/d7', 1, 1000), 'temp');
    const two = readingToSample(message('sensors/lyon/r1/d7', 2, 2000), 'temp');
    assert.equal(two.labels, one.labels);
    assert.ok(Object.isFrozen(one.labels));
    assert.deepEqual(one.labels, { __name__: 'temp', site: 'lyon', room: 'r1', device: 'd7' });
    assert.deepEqual(Object.keys(one.labels), ['__name__', 'site', 'room', 'device']);
    assert.deepEqual([two.value, two.timestamp], [2, 2000]);
    assert.throws(() => {
      (one.labels as Record<string, string>)['__name__'] = 'other';
    }, TypeError);
  });

  it('give other metrics and other topics their own objects with the right labels', () => {
    const temp = readingToSample(message('sensors/lyon/r1/d7', 1, 1000), 'temp');
    const humidity = readingToSample(message('sensors/lyon/r1/d7', 1, 1000), 'humidity');
    const other = readingToSample(message('sensors/lyon/r1/d8', 1, 1000), 'temp');
    assert.notEqual(humidity.labels, temp.labels);
    assert.notEqual(other.labels, temp.labels);
    assert.deepEqual(humidity.labels, { __name__: 'humidity', site: 'lyon', room: 'r1', device: 'd7' });
    assert.deepEqual(other.labels, { __name__: 'temp', site: 'lyon', room: 'r1', device: 'd8' });
    // Each metric keeps its own object.
    assert.equal(readingToSample(message('sensors/lyon/r1/d7', 2, 2000), 'humidity').labels, humidity.labels);
    assert.equal(readingToSample(message('sensors/lyon/r1/d7', 2, 2000), 'temp').labels, temp.labels);
  });

  it('build labels that are not frozen anew each time, so a change to them is seen', () => {
    const labels: Record<string, string> = { site: 'a', room: 'r', device: 'd' };
    const reading = { topic: 'x', labels, value: { value: 1, timestamp: 1 }, receivedAt: 1, redelivered: false };
    const one = readingToSample(reading, 'temp');
    labels['device'] = 'e';
    const two = readingToSample(reading, 'temp');
    assert.deepEqual(one.labels, { __name__: 'temp', site: 'a', room: 'r', device: 'd' });
    assert.deepEqual(two.labels, { __name__: 'temp', site: 'a', room: 'r', device: 'e' });
    assert.equal(Object.isFrozen(two.labels), false);
  });

  it(`keep at most 1 + ${MAX_OTHER_METRICS} metrics' sample labels per topic; past that, right labels built each time`, () => {
    const kept = 1 + MAX_OTHER_METRICS;
    const first = Array.from({ length: kept + 4 }, (_, m) => readingToSample(message('sensors/cap/r/d1', 1, 1000), `metric_${m}`).labels);
    const again = Array.from({ length: kept + 4 }, (_, m) => readingToSample(message('sensors/cap/r/d1', 2, 2000), `metric_${m}`).labels);
    for (let m = 0; m < kept + 4; m++) {
      assert.deepEqual(again[m], { __name__: `metric_${m}`, site: 'cap', room: 'r', device: 'd1' });
      if (m < kept) assert.equal(again[m], first[m], `metric_${m} is kept`);
      else assert.notEqual(again[m], first[m], `metric_${m} is past the cap: built anew`);
    }
  });

  it('reuse sample labels only for the source\'s own labels: a frozen object of the caller\'s is read anew each time', () => {
    let reads = 0;
    const computed = Object.freeze({
      get device(): string {
        reads++;
        return `d${reads}`;
      },
    });
    const reading = { topic: 'x', labels: computed, value: { value: 1, timestamp: 1 }, receivedAt: 1, redelivered: false };
    assert.deepEqual(readingToSample(reading, 'temp').labels, { __name__: 'temp', device: 'd1' });
    assert.deepEqual(readingToSample(reading, 'temp').labels, { __name__: 'temp', device: 'd2' });
    const plain = Object.freeze({ device: 'd' });
    const one = readingToSample({ ...reading, labels: plain }, 'temp');
    assert.notEqual(readingToSample({ ...reading, labels: plain }, 'temp').labels, one.labels);
  });

  it('take labels that are not an object as before: only the metric name, no throw', () => {
    for (const labels of [undefined, null]) {
      const reading = { topic: 'x', labels: labels as unknown as Record<string, string>, value: { value: 1, timestamp: 1 }, receivedAt: 1, redelivered: false };
      assert.deepEqual(readingToSample(reading, 'temp').labels, { __name__: 'temp' });
    }
  });

  it('mqttSamples keeps positions and hands one labels object per topic', async () => {
    const input: Positioned<MqttMessage<Reading>, number>[] = Array.from({ length: 12 }, (_, i) => ({ value: message(`sensors/s/r/d${i % 3}`, i, 1000 + i), position: i + 1 }));
    const out = await lastValueFrom(from(input).pipe(mqttSamples('temp'), toArray()));
    assert.deepEqual(out.map((e) => e.position), input.map((e) => e.position));
    assert.equal(new Set(out.map((e) => e.value.labels)).size, 3);
    assert.deepEqual(out.map((e) => e.value.labels['device']), input.map((e) => e.value.labels['device']));
    assert.throws(() => mqttSamples('bad name'), ConfigError);
  });

  it('the sink finds each series by identity: samples after a series\' first never take the content path', () => {
    const interner = new SeriesInterner({ validation: 'strict' });
    const records = new Set<SeriesRecord>();
    for (let i = 0; i < 500; i++) {
      const record = interner.resolve(readingToSample(message(`sensors/s/r/d${i % 5}`, i, 1000 + i), 'identity_temp').labels);
      assert.equal(typeof record, 'object');
      records.add(record as SeriesRecord);
    }
    assert.equal(records.size, 5);
    for (const record of records) assert.equal(record.contentResolves, 0);
  });

  it('through mqttSamples and remoteWrite, the receiver stores every reading under its topic\'s labels', async () => {
    const receiver = await startReceiver();
    try {
      const input: Positioned<MqttMessage<Reading>, number>[] = [];
      for (let i = 0; i < 300; i++) input.push({ value: message(`sensors/s/room-${(i % 5) % 2}/d${i % 5}`, i, 1_700_000_000_000 + i), position: i + 1 });
      const outcomes = await lastValueFrom(
        from(input).pipe(
          mqttSamples('mqtt_identity_temp'),
          map(({ value }) => value),
          remoteWrite({ url: receiver.url, maxDelayMs: 10, logger: { info() {}, warn() {}, error() {} } }),
          toArray(),
        ),
      );
      assert.equal(outcomes.reduce((sum, o) => sum + (o.type === 'written' ? o.samples : 0), 0), 300);
      const series = receiver.series({ __name__: 'mqtt_identity_temp' });
      assert.equal(series.length, 5);
      for (let d = 0; d < 5; d++) {
        const stored = receiver.samples({ __name__: 'mqtt_identity_temp', device: `d${d}` });
        const expected = input.filter((e) => e.value.labels['device'] === `d${d}`);
        assert.deepEqual(stored.map((s) => [s.timestamp, s.value]), expected.map((e) => [e.value.value.timestamp, e.value.value.value]));
        assert.deepEqual(stored[0].labels, { __name__: 'mqtt_identity_temp', site: 's', room: `room-${d % 2}`, device: `d${d}` });
      }
    } finally {
      await receiver.close();
    }
  });
});
