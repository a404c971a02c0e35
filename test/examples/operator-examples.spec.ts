/**
 * The README's per-operator examples are the files in examples/operators, verbatim (importing from
 * 'rxprom' instead of the repository path), and each prints what its `// prints` comment says.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const sources = join(root, 'examples', 'operators');
const readme = readFileSync(join(root, 'README.md'), 'utf8');

describe('operator examples', () => {
  for (const file of readdirSync(sources).filter((f) => f.endsWith('.ts')).sort()) {
    it(`${file} is in the README and prints what it says`, () => {
      const source = readFileSync(join(sources, file), 'utf8');
      assert.ok(readme.includes(source.replaceAll("'../../src/index.js'", "'rxprom'").trim()), `README.md must contain examples/operators/${file} verbatim`);
      const expected = source.slice(source.indexOf('// prints')).split('\n').slice(1).filter((l) => l.startsWith('//')).map((l) => l.slice(3));
      assert.ok(expected.length > 0, 'a // prints block');
      const run = spawnSync(process.execPath, [join(root, 'dist', 'examples', 'operators', file.replace(/\.ts$/, '.js'))], { encoding: 'utf8' });
      assert.equal(run.status, 0, run.stderr);
      assert.deepEqual(run.stdout.trimEnd().split('\n'), expected);
    });
  }
});
