// rxprom/live: fan a stream out to browsers over Server-Sent Events from any Node HTTP server.
// A subpath of its own because its API takes Node's request and response: `rxprom` itself needs no
// Node typings.
export { liveFeed, type LiveFeed, type LiveFeedOptions, type LiveFeedStats, type LiveFeedCors, type SlowClientPolicy } from './live-feed.js';
