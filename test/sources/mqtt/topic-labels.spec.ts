import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ConfigError } from '../../../src/core/errors.js';
import { DEFAULT_REMEMBER_TOPICS, MAX_REMEMBER_TOPICS, PAUSE_WINDOWS, REMEMBER_WINDOW, TopicLabels, topicLabels } from '../../../src/sources/mqtt/topic-labels.js';
import { seededRandom } from '../../../src/testing/random.js';
import { topicPattern } from '../../../src/sources/mqtt/topic-pattern.js';

const PATTERN = 'sensors/{site}/{room}/{device}';

function labelsOf(mapper: TopicLabels, topic: string): Readonly<Record<string, string>> {
  const match = mapper.match(topic);
  if (!match.matched) assert.fail(`"${topic}" did not match: ${match.reason}`);
  return match.labels;
}

describe('topicLabels', () => {
  it('gives the same frozen labels object for the same topic', () => {
    const mapper = topicLabels(PATTERN);
    const first = labelsOf(mapper, 'sensors/lyon/r1/d7');
    // A topic string built anew (as mqtt.js builds one per packet) finds the same entry.
    const again = labelsOf(mapper, ['sensors', 'lyon', 'r1', 'd7'].join('/'));
    assert.equal(again, first);
    assert.deepEqual(first, { site: 'lyon', room: 'r1', device: 'd7' });
    assert.ok(Object.isFrozen(first));
    assert.ok(Object.isFrozen(mapper.match('sensors/lyon/r1/d7')));
    assert.throws(() => {
      (first as Record<string, string>)['device'] = 'd8';
    }, TypeError);
    assert.equal(mapper.size, 1);
  });

  it('gives different topics different objects with their own labels', () => {
    const mapper = topicLabels(PATTERN);
    const topics = Array.from({ length: 300 }, (_, i) => `sensors/site-${i % 3}/room-${i % 10}/dev-${i}`);
    const labels = topics.map((topic) => labelsOf(mapper, topic));
    assert.equal(new Set(labels).size, 300);
    labels.forEach((l, i) => assert.deepEqual(l, { site: `site-${i % 3}`, room: `room-${i % 10}`, device: `dev-${i}` }));
    topics.forEach((topic, i) => assert.equal(labelsOf(mapper, topic), labels[i]));
    assert.equal(mapper.size, 300);
  });

  it('takes the first pattern that matches, and the first pattern\'s reason when none does', () => {
    const mapper = topicLabels(['sensors/{site}/{room}/{device}', 'plant/{line}/#']);
    assert.deepEqual(labelsOf(mapper, 'plant/l2/a/b'), { line: 'l2' });
    assert.deepEqual(labelsOf(mapper, 'sensors/s/r/d'), { site: 's', room: 'r', device: 'd' });
    const miss = mapper.match('actuators/s/r/d');
    assert.equal(miss.matched, false);
    assert.match(miss.matched ? '' : miss.reason, /level 1 is "actuators".*"sensors"/);
  });

  it('never remembers a topic that matched no pattern: it reports its reason each time', () => {
    const mapper = topicLabels(PATTERN);
    labelsOf(mapper, 'sensors/a/r/d1');
    for (let i = 0; i < 3; i++) {
      const miss = mapper.match('sensors/a//d5');
      assert.equal(miss.matched, false);
      assert.match(miss.matched ? '' : miss.reason, /\(\{room\}\) is empty/);
      const short = mapper.match('sensors/a/r');
      assert.match(short.matched ? '' : short.reason, /3 levels.*needs 4/);
    }
    assert.equal(mapper.size, 1, 'only the matched topic is held');
    assert.equal(mapper.forgotten, 0);
    assert.deepEqual(labelsOf(mapper, 'sensors/a/r/d1'), { site: 'a', room: 'r', device: 'd1' });
  });

  it('holds at most rememberTopics topics, forgets the oldest first, and keeps the labels right past the bound', () => {
    const bound = 100;
    const mapper = topicLabels(PATTERN, bound);
    const first = labelsOf(mapper, 'sensors/s/r/dev-0');
    for (let i = 1; i < 1000; i++) {
      const topic = `sensors/s/r/dev-${i}`;
      assert.deepEqual(labelsOf(mapper, topic), { site: 's', room: 'r', device: `dev-${i}` });
      assert.ok(mapper.size <= bound, `${mapper.size} topics held after ${i + 1}`);
    }
    assert.equal(mapper.size, bound);
    assert.equal(mapper.forgotten, 900);
    assert.equal(mapper.rememberTopics, bound);
    // The newest 100 are held (the same objects again); the oldest were forgotten and are built anew.
    const newest = labelsOf(mapper, 'sensors/s/r/dev-999');
    assert.equal(labelsOf(mapper, 'sensors/s/r/dev-999'), newest);
    assert.equal(labelsOf(mapper, 'sensors/s/r/dev-900'), labelsOf(mapper, 'sensors/s/r/dev-900'));
    const again = labelsOf(mapper, 'sensors/s/r/dev-0');
    assert.notEqual(again, first, 'dev-0, the oldest, was forgotten');
    assert.deepEqual(again, { site: 's', room: 'r', device: 'dev-0' });
    assert.equal(mapper.size, bound);
  });

  it('forgets in order of first arrival, not of use (a hit does not reorder)', () => {
    const mapper = topicLabels(PATTERN, 2);
    const a = labelsOf(mapper, 'sensors/s/r/a');
    const b = labelsOf(mapper, 'sensors/s/r/b');
    assert.equal(labelsOf(mapper, 'sensors/s/r/a'), a);
    labelsOf(mapper, 'sensors/s/r/c'); // pushes out a, the oldest, although it was used last
    assert.equal(labelsOf(mapper, 'sensors/s/r/b'), b);
    assert.notEqual(labelsOf(mapper, 'sensors/s/r/a'), a);
  });

  it('with rememberTopics 0 holds nothing and matches every message, as before (fresh labels each time)', () => {
    const mapper = topicLabels(PATTERN, 0);
    const one = labelsOf(mapper, 'sensors/s/r/d');
    const two = labelsOf(mapper, 'sensors/s/r/d');
    assert.notEqual(one, two);
    assert.deepEqual(one, two);
    assert.deepEqual(one, { site: 's', room: 'r', device: 'd' });
    assert.equal(mapper.size, 0);
    assert.equal(mapper.forgotten, 0);
  });

  it('with more topics than the bound coming in turn: labels right, at most the bound held, remembering paused', () => {
    const bound = 1000;
    const topics = 2500;
    const mapper = topicLabels(PATTERN, bound);
    const held = new Map<string, Readonly<Record<string, string>>>();
    let hits = 0;
    const lookups = 40 * REMEMBER_WINDOW;
    for (let n = 0; n < lookups; n++) {
      const device = `dev-${n % topics}`;
      const topic = `sensors/s/r/${device}`;
      const labels = labelsOf(mapper, topic);
      assert.deepEqual(labels, { site: 's', room: 'r', device });
      if (held.get(topic) === labels) hits++;
      held.set(topic, labels);
      assert.ok(mapper.size <= bound, `${mapper.size} topics held after ${n + 1}`);
    }
    assert.equal(mapper.size, bound);
    // FIFO alone would miss every time in this cycle; paused, the held part still hits.
    assert.ok(mapper.pauses >= 1, 'remembering was paused');
    assert.equal(mapper.rememberingNow, false);
    assert.ok(hits > lookups * 0.3, `${hits} hits of ${lookups}`);
    // Forgetting stopped during the pause: at most a window's worth per try.
    assert.ok(mapper.forgotten <= topics - bound + mapper.pauses * (REMEMBER_WINDOW / 2 + 1), `${mapper.forgotten} forgotten`);
  });

  it('follows the rule of a model: FIFO within the bound, paused once over half a window forgot a topic', () => {
    /** The rule written plainly: an array in arrival order, counters per window. */
    class Model {
      readonly held = new Map<string, number>();
      readonly order: string[] = [];
      forgotten = 0;
      pauses = 0;
      remembering = true;
      left = REMEMBER_WINDOW;
      forgottenInWindow = 0;
      constructor(readonly bound: number) {}
      /** True for a hit. */
      lookup(topic: string): boolean {
        this.left--;
        if (this.left === 0) {
          this.remembering = true;
          this.left = REMEMBER_WINDOW;
          this.forgottenInWindow = 0;
        }
        if (this.held.has(topic)) return true;
        if (!this.remembering) return false;
        if (this.order.length === this.bound) {
          this.held.delete(this.order.shift() as string);
          this.forgotten++;
          this.forgottenInWindow++;
          if (this.forgottenInWindow * 2 > REMEMBER_WINDOW) {
            this.remembering = false;
            this.pauses++;
            this.left = REMEMBER_WINDOW * PAUSE_WINDOWS;
          }
        }
        this.order.push(topic);
        this.held.set(topic, 1);
        return false;
      }
    }
    const bound = 300;
    const random = seededRandom(7);
    const mapper = topicLabels(PATTERN, bound);
    const model = new Model(bound);
    const last = new Map<string, Readonly<Record<string, string>>>();
    // Phases: a small working set, a cycle over more topics than the bound, random over a bit more than the bound, small again.
    const phases: Array<[number, (n: number) => number]> = [
      [3 * REMEMBER_WINDOW, () => Math.floor(random() * 200)],
      [PAUSE_WINDOWS * REMEMBER_WINDOW * 3, (n) => n % 900],
      [4 * REMEMBER_WINDOW, () => Math.floor(random() * 320)],
      [PAUSE_WINDOWS * REMEMBER_WINDOW * 2, () => 1000 + Math.floor(random() * 100)],
    ];
    let step = 0;
    for (const [length, pick] of phases) {
      for (let n = 0; n < length; n++, step++) {
        const topic = `sensors/s/r/d${pick(n)}`;
        const labels = labelsOf(mapper, topic);
        const hit = last.get(topic) === labels;
        last.set(topic, labels);
        const modelHit = model.lookup(topic);
        if (hit !== modelHit) assert.fail(`lookup ${step} (${topic}): hit ${hit}, the model says ${modelHit}`);
      }
      assert.equal(mapper.size, model.held.size);
      assert.equal(mapper.forgotten, model.forgotten);
      assert.equal(mapper.pauses, model.pauses);
      assert.equal(mapper.rememberingNow, model.remembering);
    }
    assert.ok(model.pauses >= 2, 'the cycle paused remembering');
    // The last phase, 100 topics, ended with all of them remembered again.
    for (let d = 1000; d < 1100; d++) assert.ok(model.held.has(`sensors/s/r/d${d}`));
  });

  it(`remembers ${DEFAULT_REMEMBER_TOPICS} topics by default`, () => {
    const mapper = topicLabels(PATTERN);
    for (let i = 0; i < DEFAULT_REMEMBER_TOPICS + 10; i++) mapper.match(`sensors/s/r/${i}`);
    assert.equal(mapper.size, DEFAULT_REMEMBER_TOPICS);
  });

  for (const bad of [-1, 1.5, Number.NaN, MAX_REMEMBER_TOPICS + 1, '100', null]) {
    it(`refuses rememberTopics = ${String(bad)} with a ConfigError naming the option and its range`, () => {
      assert.throws(
        () => topicLabels(PATTERN, bad as number),
        (error: unknown) => error instanceof ConfigError && error.option === 'rememberTopics' && error.message.includes(`[0, ${MAX_REMEMBER_TOPICS}]`),
      );
    });
  }

  it('refuses no patterns and names a bad one', () => {
    assert.throws(() => topicLabels([]), (error: unknown) => error instanceof ConfigError && error.option === 'topics');
    assert.throws(() => topicLabels([PATTERN, 'a/#/b']), (error: unknown) => error instanceof ConfigError && error.option === 'topics[1]');
    assert.throws(() => new TopicLabels([]), ConfigError);
    assert.equal(new TopicLabels([topicPattern(PATTERN)], 5).patterns.length, 1);
  });
});
