import { readingToSample, topicLabels } from '../src/sources/mqtt/index.js';

// What mqttSource does with each message's topic: matched once, then remembered (here at most
// 10,000 topics; the oldest is forgotten first). The labels are frozen and shared.
const topics = topicLabels('sensors/{site}/{room}/{device}', 10_000);
const first = topics.match('sensors/lyon/r1/d7');
const again = topics.match('sensors/lyon/r1/d7');
if (first.matched && again.matched) {
  console.log(first.labels === again.labels, Object.isFrozen(first.labels), topics.size);
  // One sample labels object per topic and metric: the sink finds the series by identity.
  const sample = (value: number) => readingToSample({ topic: 'sensors/lyon/r1/d7', labels: first.labels, value: { value, timestamp: 0 }, receivedAt: 0, redelivered: false }, 'room_celsius');
  console.log(sample(21.5).labels === sample(21.7).labels, JSON.stringify(sample(21.5).labels));
}
const bad = topics.match('sensors/lyon//d7');   // not remembered: its reason comes every time
if (!bad.matched) console.log(bad.reason);
// prints
// true true 1
// true {"__name__":"room_celsius","site":"lyon","room":"r1","device":"d7"}
// level 3 ({room}) is empty
