/**
 * examples/logging-pino.ts as a user runs it: pino passed as the sink's `logger` as is; its JSON
 * lines carry the sink's fields (the drop's reason, the retry's status) at the right levels.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const example = fileURLToPath(new URL('../../examples/logging-pino.js', import.meta.url));

describe('the pino logging example', () => {
  it('logs the drop at warn, the retry at debug and the summary at info, as pino JSON', () => {
    const run = spawnSync(process.execPath, [example], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    const drop = lines.find((l) => l['msg'] === 'dropped 1 sample(s): invalid');
    assert.equal(drop?.['level'], 40);
    assert.equal(drop?.['reason'], 'invalid');
    assert.match(String(drop?.['example']), /bad-label/);
    const retry = lines.find((l) => l['msg'] === 'retrying request');
    assert.equal(retry?.['level'], 20);
    assert.equal(retry?.['status'], 503);
    const done = lines.find((l) => l['msg'] === 'done');
    assert.equal(done?.['level'], 30);
    assert.deepEqual([done?.['written'], done?.['dropped'], done?.['retries']], [2, 1, 1]);
    assert.ok(lines.every((l) => l['service'] === 'gateway'), 'the logger is the pino instance itself (its base fields)');
  });
});
