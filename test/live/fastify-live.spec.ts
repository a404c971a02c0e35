/**
 * The fastify example: liveFeed served from a fastify route (reply.hijack()), read back as a
 * real SSE stream; the token and CORS preflight go through fastify too; app.close() finishes.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Subject } from 'rxjs';
import { startFastifyLive } from '../../examples/dashboard/fastify-live.js';

async function readEvents(url: string, count: number, headers: Record<string, string> = {}): Promise<string[]> {
  const response = await fetch(url, { headers: { Accept: 'text/event-stream', ...headers } });
  assert.equal(response.status, 200);
  assert.equal(response.headers.get('content-type'), 'text/event-stream; charset=utf-8');
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  const data: string[] = [];
  let text = '';
  while (data.length < count) {
    const { value, done } = await reader.read();
    if (done) break;
    text += value;
    let end: number;
    while ((end = text.indexOf('\n\n')) >= 0) {
      const event = text.slice(0, end);
      text = text.slice(end + 2);
      for (const line of event.split('\n')) if (line.startsWith('data: ')) data.push(line.slice(6));
    }
  }
  await reader.cancel();
  return data;
}

describe('liveFeed with fastify (examples/dashboard/fastify-live.ts)', () => {
  it('streams history then live points through a fastify route, with token and CORS', async () => {
    const source = new Subject<{ n: number }>();
    const { app, feed, url } = await startFastifyLive(source, { port: 0, history: 2, token: 'fastify-token', cors: { origin: '*' } });
    try {
      source.next({ n: 1 });
      source.next({ n: 2 });
      source.next({ n: 3 });
      const refused = await fetch(url);
      assert.equal(refused.status, 401);
      await refused.text();
      const preflight = await fetch(url, { method: 'OPTIONS', headers: { Origin: 'http://elsewhere.example' } });
      assert.equal(preflight.status, 204);
      assert.equal(preflight.headers.get('access-control-allow-origin'), '*');
      const reading = readEvents(url, 4, { Authorization: 'Bearer fastify-token' });
      while (feed.stats().clients < 1) await new Promise((resolve) => setTimeout(resolve, 10));
      source.next({ n: 4 });
      source.next({ n: 5 });
      assert.deepEqual((await reading).map((d) => (JSON.parse(d) as { n: number }).n), [2, 3, 4, 5]);
      assert.equal(feed.stats().rejected, 1);
    } finally {
      await app.close();
    }
    assert.equal(source.observed, false, 'closing the app closed the feed and its source');
  });
});
