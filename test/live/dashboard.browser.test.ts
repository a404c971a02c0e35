/**
 * `npm start`'s live page in a real browser (Debian's chromium driven by puppeteer-core): the page
 * loads, the charts draw points in their series' colours, the numbers change over time, and the
 * process still drains and exits 0. A screenshot is saved under the OS temp dir (path printed).
 * Outside CI the test skips when chromium is missing; in CI (CI=true) it fails.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const gateway = fileURLToPath(new URL('../../examples/gateway.js', import.meta.url));
const CHROMIUM = process.env['CHROMIUM_PATH'] ?? '/usr/bin/chromium';
const inCi = process.env['CI'] === 'true';

function startGateway(): Promise<{ child: ChildProcess; url: string; output: () => string; exited: Promise<number | null> }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [gateway, '--devices', '300', '--window', '1s', '--dashboard', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const exited = new Promise<number | null>((done) => child.on('exit', (code) => done(code)));
    const timer = setTimeout(() => reject(new Error(`no page URL in the gateway's first lines:\n${out}`)), 20_000);
    const onData = (chunk: Buffer): void => {
      out += chunk.toString();
      const match = /live page: (http:\/\/\S+\/)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1], output: () => out, exited });
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway exited (${code}) before printing its page URL:\n${out}`));
    });
  });
}

/** Pixels of a chart's canvas close to a series colour: the series was drawn. */
const countColour = (selector: string, rgb: readonly [number, number, number]): string => `(() => {
  const canvas = document.querySelector('${selector} canvas');
  if (!canvas) return -1;
  const { data } = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height);
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (data[i + 3] > 200 && Math.abs(data[i] - ${rgb[0]}) < 30 && Math.abs(data[i + 1] - ${rgb[1]}) < 30 && Math.abs(data[i + 2] - ${rgb[2]}) < 30) n++;
  }
  return n;
})()`;

describe('the live page of npm start, in chromium', () => {
  it('loads, draws points on every chart, and its numbers change over time', async (t) => {
    if (!existsSync(CHROMIUM)) {
      assert.ok(!inCi, `chromium is required in CI and missing at ${CHROMIUM} (apt-get install chromium)`);
      t.skip(`chromium not installed at ${CHROMIUM}`);
      return;
    }
    const gw = await startGateway();
    const head = gw.output().split('\n').slice(0, 3).join('\n');
    assert.match(head, /live page: http:\/\/127\.0\.0\.1:\d+\//, 'the URL is in the first lines');
    const browser = await puppeteer.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--no-first-run'],
    });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('pageerror', (error) => problems.push(String(error)));
      page.on('console', (message) => {
        if (message.type() === 'error') problems.push(message.text());
      });
      await page.setViewport({ width: 1280, height: 1000 });
      const response = await page.goto(gw.url, { waitUntil: 'load' });
      assert.equal(response?.status(), 200);
      assert.equal(await page.title(), 'rxprom gateway — live');

      // Points arrive on both streams and reach the charts' data (windows of 1 s close after ~3 s).
      await page.waitForFunction(
        `(() => { const d = window.rxpromDashboard; const a = d && d.charts['chart-aggregates'];
           return d.received.flow >= 3 && a && a.data[0].length >= 2 && d.charts['chart-flow'].data[0].length >= 3; })()`,
        { timeout: 30_000, polling: 200 },
      );
      const firstEvents = await page.$eval('#n-events-in', (el) => el.textContent ?? '');
      const firstFlowPoints = await page.evaluate('window.rxpromDashboard.received.flow') as number;
      // The numbers move: at least two more flow points later, the events-in figure is larger.
      await page.waitForFunction(`window.rxpromDashboard.received.flow >= ${firstFlowPoints + 2}`, { timeout: 15_000, polling: 200 });
      const laterEvents = await page.$eval('#n-events-in', (el) => el.textContent ?? '');
      const number = (text: string): number => Number(text.replace(/,/g, ''));
      assert.ok(number(firstEvents) > 0, `events in: ${firstEvents}`);
      assert.ok(number(laterEvents) > number(firstEvents), `events in went from ${firstEvents} to ${laterEvents}`);

      const lengths = (await page.evaluate(`Object.fromEntries(Object.entries(window.rxpromDashboard.charts).map(([id, c]) => [id, c.data[0].length]))`)) as Record<string, number>;
      for (const id of ['chart-aggregates', 'chart-flow', 'chart-losses', 'chart-backlog']) assert.ok((lengths[id] ?? 0) >= 2, `${id} has ${lengths[id]} points`);
      // The canvases show the series' lines (colours of the first series of each chart).
      const blue: [number, number, number] = [0x2f, 0x6f, 0xdf];
      for (const id of ['#chart-aggregates', '#chart-flow', '#chart-backlog']) {
        const pixels = (await page.evaluate(countColour(id, blue))) as number;
        assert.ok(pixels > 20, `${id}: ${pixels} pixels of the first series' colour`);
      }
      const events = (await page.$eval('#n-aggregates', (el) => el.textContent ?? '')).replace(/,/g, '');
      assert.ok(Number(events) > 0, `aggregate samples: ${events}`);
      assert.match(await page.$eval('#status', (el) => el.textContent ?? ''), /^live/);

      const screenshot = join(tmpdir(), `rxprom-dashboard-${Date.now()}.png`);
      await page.screenshot({ path: screenshot, fullPage: true });
      assert.ok(statSync(screenshot).size > 10_000);
      console.log(`dashboard screenshot: ${screenshot}`);
      assert.deepEqual(problems, [], 'no errors in the page');
    } finally {
      await browser.close();
      gw.child.kill('SIGINT');
    }
    assert.equal(await gw.exited, 0, gw.output().slice(-2000));
  });
});
