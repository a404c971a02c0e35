import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const CLI_OPTIONS = fileURLToPath(new URL('../../examples/cli-options.js', import.meta.url));

/** Runs `code` in a child process with `cli = cliOptions('demo', 'usage: demo')` in scope. */
function run(code: string): { status: number | null; stdout: string; stderr: string } {
  const program = `import { cliOptions } from ${JSON.stringify(CLI_OPTIONS)}; const cli = cliOptions('demo', 'usage: demo'); ${code}`;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8' });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('cliOptions (the examples\' command-line checks)', () => {
  it('reads durations and numbers within their range', () => {
    const { status, stdout } = run(`console.log(JSON.stringify([cli.duration('d', '250ms'), cli.duration('d', '1.5s'), cli.duration('d', '2m'), cli.duration('d', '40'), cli.number('n', '7', 1, 10), cli.number('r', '0.5', 0, 1, false)]));`);
    assert.equal(status, 0);
    assert.deepEqual(JSON.parse(stdout), [250, 1500, 120_000, 40, 7, 0.5]);
  });

  for (const [call, message] of [
    [`cli.duration('window', '10 parsecs')`, /^demo: option --window must be a duration like 500ms, 10s, 2m \(got "10 parsecs"\)\nusage: demo/],
    [`cli.number('devices', '0', 1, 1000)`, /^demo: option --devices must be an integer in \[1, 1000\] \(got "0"\)/],
    [`cli.number('devices', '2.5', 1, 1000)`, /must be an integer in \[1, 1000\] \(got "2.5"\)/],
    [`cli.number('rate', 'fast', 0, 10, false)`, /must be a number in \[0, 10\] \(got "fast"\)/],
    [`cli.number('worker', undefined, 0, 3)`, /must be an integer in \[0, 3\] \(got "undefined"\)/],
  ] as const) {
    it(`exits 2 naming the option and the range: ${call}`, () => {
      const { status, stdout, stderr } = run(`${call}; console.log('went on');`);
      assert.equal(status, 2);
      assert.equal(stdout, '', 'nothing runs after a bad option');
      assert.match(stderr, message);
    });
  }
});
