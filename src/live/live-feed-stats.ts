/** A live feed's counters, apart from the feed so readers (e.g. the metrics registry) need no Node typings. */
export interface LiveFeedStats {
  /** Clients connected now. */
  readonly clients: number;
  /** Connections accepted since creation. */
  readonly connections: number;
  /** Requests refused: bad or missing token (401), a method other than GET/HEAD/OPTIONS (405), a throwing `cors.origin` predicate (500), or after close (503). */
  readonly rejected: number;
  /** Points published. */
  readonly pointsIn: number;
  /** Points handed to client sockets, summed over clients (history included). */
  readonly pointsDelivered: number;
  /** Points a slow client did not get ('skip'), summed over clients. */
  readonly pointsSkipped: number;
  /** Clients cut off because they could not keep up or stalled. */
  readonly slowDisconnects: number;
  /** Bytes waiting in client send buffers now, summed (each client stays under `maxBufferedBytes`). */
  readonly bufferedBytes: number;
  /** The largest `bufferedBytes` seen. */
  readonly maxBufferedBytesSeen: number;
  /** Requests answered 500 because the `cors.origin` predicate threw (counted in `rejected` too). */
  readonly originCheckFailures: number;
  /** The error that stopped the feed (a throwing `serialize` or a failed source), if any. */
  readonly error: unknown;
}
