/** The README's topic-labels example is examples/mqtt-topic-labels.ts verbatim, and prints what it says. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('MQTT topic labels example', () => {
  it('is in the README and prints what it says', () => {
    const source = readFileSync(join(root, 'examples', 'mqtt-topic-labels.ts'), 'utf8');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const published = source.replaceAll("'../src/sources/mqtt/index.js'", "'rxprom/mqtt'").trim();
    assert.ok(readme.includes(published), 'README.md must contain examples/mqtt-topic-labels.ts verbatim');
    const expected = source.slice(source.indexOf('// prints')).split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3));
    const run = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'mqtt-topic-labels.js')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), expected);
  });
});
