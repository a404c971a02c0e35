/**
 * `npm start` serves /metrics: scraped while the gateway runs and parsed. rxprom's families (sink,
 * operators, live feeds) agree with each other and grow between scrapes; Node's defaults are there.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { parseExposition, type Family } from './exposition.js';

const gateway = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));

const value = (families: Map<string, Family>, name: string, labels = ''): number => {
  const v = families.get(name)?.samples.get(name + labels);
  assert.ok(v !== undefined, `${name}${labels} is exposed`);
  return v;
};

describe('the gateway /metrics endpoint', () => {
  it('exposes the sink, operator and feed counters, which grow while it runs', async () => {
    const child = spawn(process.execPath, [gateway, '--devices', '200', '--window', '1s', '--dashboard', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
    try {
      let url: string | undefined;
      for (let i = 0; i < 200 && url === undefined; i++) {
        url = /live page: (http:\/\/\S+\/)/.exec(out)?.[1];
        if (url === undefined) await new Promise((resolve) => setTimeout(resolve, 50));
      }
      assert.ok(url, `no page URL in: ${out}`);
      const scrape = async (): Promise<Map<string, Family>> => {
        const response = await fetch(`${url}metrics`);
        assert.equal(response.status, 200);
        assert.match(response.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
        return parseExposition(await response.text());
      };
      // Wait for the first windows to be written.
      let first = await scrape();
      for (let i = 0; i < 100 && value(first, 'rxprom_remote_write_samples_written_total') === 0; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        first = await scrape();
      }
      const written = value(first, 'rxprom_remote_write_samples_written_total');
      assert.ok(written > 0);
      assert.ok(value(first, 'rxprom_remote_write_samples_in_total') >= written);
      assert.ok(value(first, 'rxprom_operator_joined_total', '{operator="enrich"}') > 0);
      assert.ok(value(first, 'rxprom_operator_samples_out_total', '{operator="window"}') >= written);
      assert.equal(first.get('rxprom_operator_open_windows')?.type, 'gauge');
      assert.ok(value(first, 'rxprom_live_points_in_total', '{feed="flow"}') >= 1);
      assert.ok(first.has('process_cpu_user_seconds_total'), "Node's default metrics");
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const later = await scrape();
      assert.ok(value(later, 'rxprom_operator_joined_total', '{operator="enrich"}') > value(first, 'rxprom_operator_joined_total', '{operator="enrich"}'));
      assert.ok(value(later, 'rxprom_live_points_in_total', '{feed="flow"}') > value(first, 'rxprom_live_points_in_total', '{feed="flow"}'));
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, out.slice(-2000));
  });
});
