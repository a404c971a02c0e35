/**
 * dropOutliers where `series` gives undefined (a JavaScript caller, an element missing its id
 * field): undefined is one more series, like any other key. A storage that marks a free slot by
 * an undefined key (tried for speed) counted that series as held but could never save or evict
 * it, so once `maxSeries` was reached eviction found nothing to forget and looped forever. Run
 * in a child process so that a hang fails the spec instead of the run.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const operatorUrl = new URL('../../operators/drop-outliers.js', import.meta.url).href;

const script = `
import { Subject } from 'rxjs';
const { dropOutliers } = await import(${JSON.stringify(operatorUrl)});
const source = new Subject();
const out = [];
const op = dropOutliers({ series: (r) => r.device, value: (r) => r.v, eventTime: (r) => r.t, maxSeries: 1 });
source.pipe(op).subscribe({ next: (r) => out.push(r.id), error: (e) => out.push('error ' + e) });
source.next({ id: 1, v: 1, t: 0 });
source.next({ id: 2, device: 'a', v: 1, t: 0 });
console.log(JSON.stringify({ out, passed: op.stats.passed }));
`;

describe('dropOutliers with a series callback that gives undefined', () => {
  it('a new series after it, at maxSeries, is checked and passed instead of hanging (undefined is one more series)', () => {
    const cwd = fileURLToPath(new URL('../../../', import.meta.url));
    const run = spawnSync(process.execPath, ['--input-type=module', '-e', script], { cwd, timeout: 10_000, encoding: 'utf8' });
    assert.equal(run.signal, null, 'the operator hung (killed after 10 s)');
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(run.stdout.trim()), { out: [1, 2], passed: 2 });
  });
});
