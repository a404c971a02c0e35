import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { topicPattern } from '../../../src/sources/mqtt/topic-pattern.js';
import { ConfigError } from '../../../src/core/errors.js';

describe('topicPattern', () => {
  it('maps named levels to labels and subscribes with +', () => {
    const pattern = topicPattern('sensors/{site}/{room}/{device}');
    assert.equal(pattern.filter, 'sensors/+/+/+');
    assert.deepEqual(pattern.labelNames, ['site', 'room', 'device']);
    assert.deepEqual(pattern.match('sensors/lyon/r1/d7'), { matched: true, labels: { site: 'lyon', room: 'r1', device: 'd7' } });
  });

  it('takes + as an unnamed level and # as any trailing levels', () => {
    const pattern = topicPattern('+/{site}/#');
    assert.equal(pattern.filter, '+/+/#');
    assert.deepEqual(pattern.match('plant/north/a/b/c'), { matched: true, labels: { site: 'north' } });
    assert.deepEqual(pattern.match('plant/north'), { matched: true, labels: { site: 'north' } });
    assert.equal(pattern.match('plant').matched, false);
  });

  it('says why a topic does not match', () => {
    const pattern = topicPattern('sensors/{site}/{room}/{device}');
    const levels = pattern.match('sensors/lyon/r1');
    assert.equal(levels.matched, false);
    assert.match(levels.matched ? '' : levels.reason, /3 levels.*needs 4/);
    const literal = pattern.match('actuators/lyon/r1/d7');
    assert.match(literal.matched ? '' : literal.reason, /level 1 is "actuators".*"sensors"/);
    const empty = pattern.match('sensors/lyon//d7');
    assert.match(empty.matched ? '' : empty.reason, /\(\{room\}\) is empty/);
  });

  for (const [bad, why] of [
    ['', /topic pattern/],
    ['a/{bad-name}/b', /not a label name/],
    ['a/{__x}', /not a label name/],
    ['a/{x}/{x}', /named twice/],
    ['a/#/b', /must be the last level/],
    ['a/b+/c', /mixes text/],
    ['a/{x}y', /mixes text/],
  ] as const) {
    it(`refuses ${JSON.stringify(bad)} with a ConfigError naming the option`, () => {
      assert.throws(() => topicPattern(bad, 'topics[1]'), (error: unknown) => error instanceof ConfigError && error.option === 'topics[1]' && why.test(error.message));
    });
  }

  it('refuses a pattern that is not a string', () => {
    assert.throws(() => topicPattern(42), ConfigError);
  });
});
