/** The README's series-handle example is examples/series-handles.ts verbatim, and prints what it says. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));

describe('series handles example', () => {
  it('is in the README and prints what it says', () => {
    const source = readFileSync(join(root, 'examples', 'series-handles.ts'), 'utf8');
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    const published = source.replaceAll("'../src/index.js'", "'rxprom'").replaceAll("'../src/testing/index.js'", "'rxprom/testing'").trim();
    assert.ok(readme.includes(published), 'README.md must contain examples/series-handles.ts verbatim');
    const expected = source.slice(source.indexOf('// prints')).split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3));
    const run = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'series-handles.js')], { encoding: 'utf8' });
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout.trimEnd().split('\n'), expected);
  });
});
