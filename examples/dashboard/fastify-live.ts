/**
 * liveFeed behind fastify: the route hands Node's own request and response to the feed.
 *
 *   npm run build && node dist/examples/dashboard/fastify-live.js    # then: curl -N http://127.0.0.1:3000/live
 *
 * Any Observable works as the source; here, a reading per second. With express it is the same:
 * `app.get('/live', (req, res) => feed.handle(req, res))`.
 */
import Fastify, { type FastifyInstance } from 'fastify';
import { interval, map, type Observable } from 'rxjs';
import { fileURLToPath } from 'node:url';
import { liveFeed, type LiveFeed, type LiveFeedOptions } from '../../src/live/index.js';

export async function startFastifyLive<T>(source: Observable<T>, options: LiveFeedOptions<T> & { port?: number } = {}): Promise<{ app: FastifyInstance; feed: LiveFeed<T>; url: string }> {
  const feed = liveFeed<T>(options);
  feed.connect(source);
  const app = Fastify();
  app.route({
    method: ['GET', 'OPTIONS'],
    url: '/live',
    handler: (request, reply) => {
      // The feed writes the response itself, for as long as the client stays.
      reply.hijack();
      feed.handle(request.raw, reply.raw);
    },
  });
  // Ending the streams first lets fastify's close() finish.
  app.addHook('onClose', async () => feed.close());
  const url = await app.listen({ port: options.port ?? 3000, host: '127.0.0.1' });
  return { app, feed, url: `${url}/live` };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const readings = interval(1000).pipe(map((i) => ({ t: Date.now(), value: 20 + Math.sin(i / 10) })));
  const { app, url } = await startFastifyLive(readings, { history: 60 });
  console.log(`live feed: ${url}  (curl -N ${url})`);
  process.once('SIGINT', () => void app.close());
}
