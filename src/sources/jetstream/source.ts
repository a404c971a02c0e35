/**
 * A NATS JetStream stream read through one durable pull consumer, as an acknowledged source. The
 * position of a message is its stream sequence. Acknowledgement follows the checkpoint contract:
 * nothing is acknowledged when it is read; `commit(position)` acknowledges every message delivered
 * up to that sequence, once the checkpoint covering it is durable.
 *
 * Resuming: each subscription starts just after its resume position (the given one, else the last
 * committed one, else the consumer's acknowledgement floor). When the durable consumer already
 * stands there with nothing outstanding it is bound as it is; otherwise (a worker died holding
 * unacknowledged messages, or the checkpoint is ahead of the acknowledgements) it is recreated to
 * start at that sequence, so the messages a dead reader held come back at once instead of after
 * `ackWaitMs`. One reader per durable consumer: two processes on one consumer is a deployment error.
 *
 * Flow: messages are fetched in batches of at most `batchSize`, never more than the consumer's
 * `maxAckPending` minus what is already waiting for a commit; `pause()` stops fetching (the batch
 * being read is still emitted: at most `batchSize` elements arrive after a pause).
 *
 * Why these defaults: acknowledgements wait for a checkpoint, so the consumer holds up to
 * (events/s × checkpoint interval) unacknowledged messages. `maxAckPending` 50,000 lets a partition
 * run at 10,000 events/s with checkpoints every 5 s; beyond that the server stops delivering until
 * the next commit (throughput ≈ maxAckPending / checkpoint interval, see bench/jetstream.ts).
 * `ackWaitMs` 5 minutes is far longer than a checkpoint interval, so a healthy reader's messages are
 * never redelivered under it; a redelivery of a message this reader already emitted is skipped
 * (counted) and acknowledged with the next commit.
 */
import { Observable } from 'rxjs';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerConfig, type ConsumerInfo, type ConsumerMessages, type JetStreamManager, type JsMsg } from '@nats-io/jetstream';
import { ConfigError } from '../../core/errors.js';
import { redactUrl } from '../../core/redact.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { functionOption, loggerOption, numberOption } from '../../core/options.js';
import type { AcknowledgedSource, Pausable, Positioned } from '../acknowledged.js';
import { AcknowledgedSourceBase } from '../acknowledged-base.js';
import { jsonPayload, type PayloadParser } from './payload.js';
import { natsAuth, type NatsAuth, type NatsCredentials } from './credentials.js';

export interface JetStreamSourceOptions<T> {
  /** NATS server URL(s), e.g. `nats://127.0.0.1:4222`; without user or password in them (the client ignores those: use `credentials`). */
  servers: string | readonly string[];
  /** How to authenticate: `{ user, password }`, `{ token }`, `{ nkeySeed }` or `{ credsFile }`; default none. Never logged or shown. */
  credentials?: NatsCredentials;
  /** The stream to read. */
  stream: string;
  /** The durable consumer's name (created when missing). */
  durable: string;
  /** Only the stream's messages on these subjects (e.g. one partition: `readings.3.>`); default: all. */
  filterSubject?: string;
  /** Bytes to element; default JSON. A throw marks the payload bad. */
  parse?: PayloadParser<T>;
  /** Told about every bad payload. A throw errors the stream. */
  onBadPayload?: (bad: BadPayload) => void;
  /** Largest fetch, in messages; default 1000. */
  batchSize?: number;
  /** How long a fetch waits for messages before asking again; default 1000 ms. */
  fetchExpiresMs?: number;
  /** The consumer's `max_ack_pending`: messages delivered and not yet committed; default 50,000. */
  maxAckPending?: number;
  /** The consumer's `ack_wait`; default 300,000 ms. */
  ackWaitMs?: number;
  /** Wait between reconnect attempts; default 1000 ms (the client reconnects forever). */
  reconnectTimeWaitMs?: number;
  /** The connection's name as the server shows it. */
  name?: string;
  logger?: Logger;
}

/** A message that was not emitted because its payload could not be parsed. */
export interface BadPayload {
  readonly subject: string;
  readonly sequence: number;
  readonly reason: string;
  /** The payload's start as text, at most 200 characters. */
  readonly text: string;
}

export interface JetStreamStats {
  fetches: number;
  /** Messages delivered by the server (including redeliveries). */
  received: number;
  emitted: number;
  badPayloads: number;
  /** Bad payloads by reason. */
  badPayloadReasons: Record<string, number>;
  /** Redeliveries of messages this reader had already emitted: not emitted again, acknowledged with the next commit. */
  redeliveredSkipped: number;
  /** Messages acknowledged (by commits). */
  acked: number;
  /** Delivered, waiting for a commit. */
  pendingAcks: number;
  /** Times the reader waited because `maxAckPending` messages were waiting for a commit. */
  ackPendingStalls: number;
  disconnects: number;
  reconnects: number;
  fetchErrors: number;
  /** Times the durable consumer was (re)created to start at a resume position. */
  consumerCreated: number;
  /** Reconnects after which the server had lost acknowledgements and the consumer was recreated at the committed position. */
  lostAcksRecovered: number;
  /** Failed fetches after which the server had delivered messages this reader never received, and the consumer was recreated at the committed position. */
  lostDeliveriesRecovered: number;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export class JetStreamSource<T = unknown> extends AcknowledgedSourceBase<T> implements AcknowledgedSource<T, number>, Pausable {
  readonly stream: string;
  readonly durable: string;
  readonly filterSubject: string | undefined;
  private readonly servers: string[];
  private readonly auth: NatsAuth | undefined;
  private readonly parse: PayloadParser<T>;
  private readonly onBadPayload: ((bad: BadPayload) => void) | undefined;
  private readonly batchSize: number;
  private readonly fetchExpiresMs: number;
  private readonly maxAckPending: number;
  private readonly ackWaitMs: number;
  private readonly reconnectTimeWaitMs: number;
  private readonly connectionName: string | undefined;
  private readonly logger: Logger;
  private readonly counters: JetStreamStats = {
    fetches: 0, received: 0, emitted: 0, badPayloads: 0, badPayloadReasons: {}, redeliveredSkipped: 0, acked: 0, pendingAcks: 0,
    ackPendingStalls: 0, disconnects: 0, reconnects: 0, fetchErrors: 0, consumerCreated: 0, lostAcksRecovered: 0, lostDeliveriesRecovered: 0,
  };
  /** Delivered and not yet acknowledged, by stream sequence, in increasing order. */
  private readonly unacked = new Map<number, JsMsg>();
  /** Fetches in progress, closed by `drain()`. */
  private readonly batches = new Set<ConsumerMessages>();
  private connecting: Promise<NatsConnection> | undefined;
  /** A subscription is open (one at a time). */
  private reading = false;
  /** The read loop of the latest subscription: it ends a little after its unsubscription. */
  private lastRead: Promise<void> = Promise.resolve();
  private closed = false;
  private draining = false;

  constructor(options: JetStreamSourceOptions<T>) {
    super('JetStream position', 'a non-negative integer stream sequence');
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    const servers = typeof options.servers === 'string' ? [options.servers] : options.servers;
    if (!Array.isArray(servers) || servers.length === 0 || servers.some((s) => typeof s !== 'string' || s.length === 0)) {
      // Shown with every URL's password as ***: the error keeps what it shows (JSON, loggers).
      const shown = Array.isArray(servers) ? servers.map((s: unknown) => (typeof s === 'string' ? redactUrl(s) : s)) : typeof servers === 'string' ? redactUrl(servers) : servers;
      throw new ConfigError('servers', 'a NATS URL or a non-empty array of them', shown);
    }
    // With or without a scheme: the client also takes "user:pass@host:4222", and ignores the user part there too.
    // Any "@" counts (up to the last one): a password may hold "/", "?" or "#", which end a URL's userinfo.
    const userinfo = /^((?:[a-z][a-z0-9+.-]*:\/\/)?).*@/i;
    const withUserinfo = servers.find((server) => userinfo.test(server));
    if (withUserinfo !== undefined) {
      // The NATS client would connect without them, and the server answer "Authorization Violation".
      // Shown with all of the userinfo as ***: a user part alone ("nats://token@host") may be a token.
      throw new ConfigError('servers', 'NATS URLs without a user or password in them (the client ignores those): give them in the credentials option', withUserinfo.replace(userinfo, '$1***@'));
    }
    this.servers = [...servers];
    this.auth = natsAuth(options.credentials);
    for (const name of ['stream', 'durable'] as const) {
      const value = options[name];
      if (typeof value !== 'string' || !/^[A-Za-z0-9_-]+$/.test(value)) throw new ConfigError(name, 'a name of letters, digits, "-" and "_"', value);
    }
    this.stream = options.stream;
    this.durable = options.durable;
    if (options.filterSubject !== undefined && (typeof options.filterSubject !== 'string' || options.filterSubject.length === 0 || /\s/.test(options.filterSubject))) throw new ConfigError('filterSubject', 'a NATS subject such as "readings.3.>"', options.filterSubject);
    this.filterSubject = options.filterSubject;
    this.parse = functionOption<PayloadParser<T>>('parse', options.parse, false) ?? (jsonPayload<T>() as PayloadParser<T>);
    this.onBadPayload = functionOption<(bad: BadPayload) => void>('onBadPayload', options.onBadPayload, false);
    this.batchSize = numberOption('batchSize', options.batchSize, 1000, { min: 1, max: 100_000 });
    this.fetchExpiresMs = numberOption('fetchExpiresMs', options.fetchExpiresMs, 1000, { min: 1000, max: 300_000 });
    this.maxAckPending = numberOption('maxAckPending', options.maxAckPending, 50_000, { min: 1, max: 10_000_000 });
    this.ackWaitMs = numberOption('ackWaitMs', options.ackWaitMs, 300_000, { min: 1000, max: 86_400_000 });
    this.reconnectTimeWaitMs = numberOption('reconnectTimeWaitMs', options.reconnectTimeWaitMs, 1000, { min: 10, max: 600_000 });
    if (options.name !== undefined && typeof options.name !== 'string') throw new ConfigError('name', 'a string', options.name);
    this.connectionName = options.name;
    this.logger = loggerOption(options.logger, silentLogger);
  }

  stats(): JetStreamStats {
    return { ...this.counters, badPayloadReasons: { ...this.counters.badPayloadReasons }, pendingAcks: this.unacked.size };
  }

  /**
   * Acknowledges every delivered message up to and including stream sequence `position` and
   * resolves once the server has them (or after 5 s when disconnected: the client sends them on
   * reconnect; one lost is only redelivered, at least once).
   */
  async commit(position: number): Promise<void> {
    // Whether or not the committed position moves: a resume from an older position delivers again
    // messages up to it, and they must not wait for a commit that already came.
    this.advanceCommitted(position);
    let acked = 0;
    for (const [sequence, message] of this.unacked) {
      if (sequence > position) break;
      message.ack();
      this.unacked.delete(sequence);
      acked++;
    }
    this.counters.acked += acked;
    this.wake();
    if (acked > 0 && this.connecting) {
      const nc = await this.connecting;
      if (!nc.isClosed()) await Promise.race([nc.flush().catch(() => {}), sleep(5000)]);
    }
  }

  /**
   * Ends reading: the subscription completes after the message being emitted, so a pipeline
   * downstream can finish (close its windows, write, checkpoint) and commit what it read. Messages
   * fetched but not emitted are handed back to the server. The connection stays open for commits.
   */
  drain(): void {
    this.draining = true;
    this.wake();
    for (const batch of this.batches) void batch.close().catch(() => {});
  }

  /** Closes the connection (after its last acknowledgements are sent). Uncommitted messages are redelivered to the durable consumer's next reader. */
  async close(): Promise<void> {
    this.closed = true;
    this.wake();
    const connecting = this.connecting;
    this.connecting = undefined;
    if (!connecting) return;
    const nc = await connecting.catch(() => undefined);
    if (nc && !nc.isClosed()) await nc.drain().catch(() => nc.close());
  }

  /**
   * The messages after stream sequence `position` (default: the last committed position, else the
   * consumer's acknowledgement floor, else the stream's start). One subscription at a time.
   */
  resumeFrom(position?: number): Observable<Positioned<T, number>> {
    return new Observable<Positioned<T, number>>((subscriber) => {
      if (this.reading) {
        subscriber.error(new Error(`rxprom: JetStream consumer "${this.durable}" already has a reader in this process; one subscription at a time`));
        return;
      }
      this.reading = true;
      const reader = { closed: false, batch: undefined as ConsumerMessages | undefined };
      // A reader unsubscribed just before (RxJS' retry and repeat resubscribe at once) may still be
      // handing back its batch: this one starts once it has, never beside it on the consumer.
      const run = this.lastRead.then(() => (reader.closed ? undefined : this.read(position, reader, (element) => subscriber.next(element))));
      this.lastRead = run.catch(() => {});
      run.then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        reader.closed = true;
        this.reading = false;
        void reader.batch?.close().catch(() => {});
        this.wake();
      };
    });
  }

  private connection(): Promise<NatsConnection> {
    if (this.closed) return Promise.reject(new Error('rxprom: the JetStream source is closed'));
    if (!this.connecting) {
      this.connecting = connect({
        servers: this.servers,
        name: this.connectionName,
        maxReconnectAttempts: -1,
        reconnectTimeWait: this.reconnectTimeWaitMs,
        waitOnFirstConnect: false,
        ...(this.auth ? { authenticator: this.auth.authenticator } : {}),
      }).catch((error: unknown) => {
        throw this.refusal(error) ?? error;
      });
      this.connecting.then(
        (nc) => {
          this.watchStatus(nc);
          // A reader waiting (paused, or for commits) learns at once that the connection is gone for good.
          void nc.closed().then(() => this.wake());
        },
        () => { this.connecting = undefined; },
      );
    }
    return this.connecting;
  }

  /** A clear error for a server that refused the credentials (or wanted some), else undefined. It names their kind, never them. */
  private refusal(error: unknown): Error | undefined {
    if (!(error instanceof Error)) return undefined;
    const refused = error.name === 'AuthorizationError' || error.name === 'UserAuthenticationExpiredError' || /authori[sz]ation violation|authentication/i.test(error.message);
    if (!refused) return undefined;
    const shown = this.servers.map(redactUrl).join(', ');
    const given = this.auth ? `the ${this.auth.kind} given in credentials` : 'no credentials (the credentials option is not set)';
    return new Error(`rxprom: JetStream: the NATS server (${shown}) refused ${given}: ${error.message}`, { cause: error });
  }

  /** The error a reader ends with when the client closed the connection for good (it does so after refused credentials). */
  private async connectionEnded(nc: NatsConnection): Promise<Error> {
    const reason = await Promise.race([nc.closed(), sleep(1000).then(() => undefined)]);
    if (this.connecting) this.connecting = undefined;
    const refused = this.refusal(reason);
    if (refused) return refused;
    const why = reason instanceof Error ? reason.message : 'closed';
    return new Error(`rxprom: JetStream: the connection to ${this.servers.map(redactUrl).join(', ')} ended and will not reconnect: ${why}`, reason instanceof Error ? { cause: reason } : undefined);
  }

  private watchStatus(nc: NatsConnection): void {
    void (async () => {
      for await (const status of nc.status()) {
        if (status.type === 'disconnect') {
          this.counters.disconnects++;
          this.logger.warn({ server: status.server, stream: this.stream, durable: this.durable }, `JetStream: disconnected from ${status.server}; the client reconnects every ${this.reconnectTimeWaitMs} ms`);
        } else if (status.type === 'reconnect') {
          this.counters.reconnects++;
          this.logger.info({ server: status.server, stream: this.stream, durable: this.durable, reconnects: this.counters.reconnects }, `JetStream: reconnected to ${status.server}`);
        } else if (status.type === 'error') {
          this.logger.warn({ error: status.error.message }, `JetStream: connection error: ${status.error.message}`);
        }
      }
    })().catch(() => {});
  }

  private async read(position: number | undefined, reader: { closed: boolean; batch: ConsumerMessages | undefined }, emit: (element: Positioned<T, number>) => void): Promise<void> {
    const invalid = position === undefined ? undefined : this.invalidPosition(position);
    if (invalid) throw invalid;
    const nc = await this.connection();
    const jsm = await jetstreamManager(nc);
    const start = await this.prepareConsumer(jsm, position ?? this.committed);
    if (reader.closed) return;
    // Messages from before this subscription's start that are still waiting for a commit are
    // acknowledged by it; anything up to `start` is durable downstream by the caller's word.
    await this.commit(start);
    let consumer = await jetstream(nc).consumers.get(this.stream, this.durable);
    let highestEmitted = start;
    let reconnectsSeen = this.counters.reconnects;
    let fetchFailed = false;
    while (!reader.closed && !this.closed && !this.draining) {
      // Closed by the client itself (it gives up only on refused credentials): nothing to retry.
      if (nc.isClosed()) throw await this.connectionEnded(nc);
      if (reconnectsSeen !== this.counters.reconnects || fetchFailed) {
        // The server may hold messages this reader does not: acknowledgements lost by a broker that
        // restarted (it persists consumer state lazily), or messages delivered into a fetch the
        // client had already given up (missed heartbeats). It would hold them against
        // maxAckPending until ack_wait. Restart the consumer at the committed position instead;
        // what comes again is skipped as already emitted.
        try {
          if (await this.resync(jsm, highestEmitted)) consumer = await jetstream(nc).consumers.get(this.stream, this.durable);
          reconnectsSeen = this.counters.reconnects;
          fetchFailed = false;
        } catch (error) {
          if (nc.isClosed() && !this.closed) throw await this.connectionEnded(nc);
          this.counters.fetchErrors++;
          this.logger.warn({ stream: this.stream, durable: this.durable, error: error instanceof Error ? error.message : String(error) }, 'JetStream: checking the consumer after a reconnect failed; retrying');
          await this.waitForChange(this.reconnectTimeWaitMs);
          continue;
        }
      }
      if (this.paused) {
        await this.waitForChange(60_000);
        continue;
      }
      const room = Math.min(this.batchSize, this.maxAckPending - this.unacked.size);
      if (room <= 0) {
        this.counters.ackPendingStalls++;
        await this.waitForChange(this.fetchExpiresMs);
        continue;
      }
      let batch: ConsumerMessages;
      try {
        this.counters.fetches++;
        batch = await consumer.fetch({ max_messages: room, expires: this.fetchExpiresMs });
        reader.batch = batch;
        this.batches.add(batch);
        for await (const message of batch) {
          this.counters.received++;
          if (reader.closed || this.draining) {
            // Handed back now rather than after ack_wait.
            message.nak();
            continue;
          }
          const sequence = message.seq;
          if (sequence <= highestEmitted) {
            this.redelivered(sequence, message);
            continue;
          }
          highestEmitted = sequence;
          this.unacked.set(sequence, message);
          let value: T;
          try {
            value = this.parse(message.data, message.subject);
          } catch (error) {
            this.bad(message, error);
            continue;
          }
          this.counters.emitted++;
          emit({ value, position: sequence });
        }
      } catch (error) {
        if (error instanceof CallbackFailure) {
          // The user's callback, not the fetch: the stream errors with it; the rest of the batch goes back.
          void reader.batch?.close().catch(() => {});
          throw error.error;
        }
        if (reader.closed || this.closed || this.draining) break;
        if (nc.isClosed()) throw await this.connectionEnded(nc);
        this.counters.fetchErrors++;
        const reason = error instanceof Error ? error.message : String(error);
        // Missed heartbeats mostly mean this process was too busy to read them: fetch again at once.
        const busy = /heartbeats missed/i.test(reason);
        (busy ? this.logger.info : this.logger.warn)({ stream: this.stream, durable: this.durable, error: reason, fetchErrors: this.counters.fetchErrors }, `JetStream: fetch from ${this.stream}/${this.durable} failed (${reason}); retrying`);
        fetchFailed = true;
        if (!busy) await this.waitForChange(this.reconnectTimeWaitMs);
      } finally {
        if (reader.batch) this.batches.delete(reader.batch);
        reader.batch = undefined;
      }
    }
  }

  /** A message this reader emitted before: already in the pipeline, acknowledged by a later commit (or now, if already covered). */
  private redelivered(sequence: number, message: JsMsg): void {
    this.counters.redeliveredSkipped++;
    if (this.committed !== undefined && sequence <= this.committed) {
      message.ack();
      this.counters.acked++;
    } else if (this.unacked.has(sequence)) {
      this.unacked.set(sequence, message); // the newest delivery is the one the server waits for
    }
  }

  private bad(message: JsMsg, error: unknown): void {
    const reason = error instanceof Error ? error.message : String(error);
    this.counters.badPayloads++;
    this.counters.badPayloadReasons[reason] = (this.counters.badPayloadReasons[reason] ?? 0) + 1;
    const bad: BadPayload = { subject: message.subject, sequence: message.seq, reason, text: new TextDecoder().decode(message.data.subarray(0, 200)) };
    this.logger.warn({ ...bad }, `JetStream: bad payload on ${bad.subject} (stream sequence ${bad.sequence}): ${reason}`);
    try {
      this.onBadPayload?.(bad);
    } catch (error) {
      throw new CallbackFailure(error);
    }
  }

  /** Binds the durable consumer if it stands at `start` with nothing outstanding, else (re)creates it to start after `start`; returns the start. */
  private async prepareConsumer(jsm: JetStreamManager, position: number | undefined): Promise<number> {
    let info: ConsumerInfo | undefined;
    try {
      info = await jsm.consumers.info(this.stream, this.durable);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
    const floor = info === undefined ? 0 : floorOf(info);
    const start = position ?? floor;
    const standsAtStart =
      info !== undefined &&
      info.num_ack_pending === 0 &&
      info.delivered.stream_seq <= start &&
      floor === start &&
      info.config.filter_subject === this.filterSubject &&
      info.config.max_ack_pending === this.maxAckPending &&
      info.config.ack_wait === this.ackWaitMs * 1_000_000;
    if (standsAtStart) return start;
    if (info !== undefined) {
      this.logger.info(
        { stream: this.stream, durable: this.durable, start, ackFloor: info.ack_floor.stream_seq, delivered: info.delivered.stream_seq, pending: info.num_ack_pending },
        `JetStream: consumer ${this.durable} recreated to resume after stream sequence ${start} (it held ${info.num_ack_pending} unacknowledged messages, acknowledged up to ${info.ack_floor.stream_seq})`,
      );
      await jsm.consumers.delete(this.stream, this.durable);
    }
    await this.createConsumer(jsm, start);
    return start;
  }

  private async createConsumer(jsm: JetStreamManager, start: number): Promise<void> {
    const config: Partial<ConsumerConfig> = {
      durable_name: this.durable,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: this.maxAckPending,
      ack_wait: this.ackWaitMs * 1_000_000,
      max_deliver: -1,
      ...(this.filterSubject !== undefined ? { filter_subject: this.filterSubject } : {}),
      ...(start > 0 ? { deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: start + 1 } : { deliver_policy: DeliverPolicy.All }),
    };
    await jsm.consumers.add(this.stream, config);
    this.counters.consumerCreated++;
  }

  /**
   * After a reconnect or a failed fetch: if the server's acknowledgement floor is behind the
   * committed position, or it counts more messages awaiting acknowledgement than this reader holds,
   * recreates the consumer at the committed position. Returns whether it did.
   */
  private async resync(jsm: JetStreamManager, highestEmitted: number): Promise<boolean> {
    const committed = this.committed ?? 0;
    const info = await jsm.consumers.info(this.stream, this.durable);
    const floor = floorOf(info);
    const lostAcks = floor < committed && info.num_ack_pending > 0;
    // (The delivered stream sequence is no sign: a filtered consumer's can pass its last match.)
    const lostDeliveries = info.num_ack_pending > this.unacked.size;
    if (!lostAcks && !lostDeliveries) return false;
    if (lostAcks) this.counters.lostAcksRecovered++;
    else this.counters.lostDeliveriesRecovered++;
    this.logger.warn(
      { stream: this.stream, durable: this.durable, committed, ackFloor: floor, serverPending: info.num_ack_pending, held: this.unacked.size, emitted: highestEmitted },
      lostAcks
        ? `JetStream: the server holds acknowledgements up to ${floor}, not ${committed}: consumer ${this.durable} recreated at ${committed}`
        : `JetStream: the server delivered messages this reader never received (${info.num_ack_pending} awaiting acknowledgement, ${this.unacked.size} held): consumer ${this.durable} recreated at ${committed}`,
    );
    await jsm.consumers.delete(this.stream, this.durable);
    await this.createConsumer(jsm, committed);
    return true;
  }
}

/** Where the consumer's acknowledgements reach; a consumer created to start at a sequence reports a floor of 0 until its first acknowledgement. */
function floorOf(info: ConsumerInfo): number {
  const startedAfter = info.config.deliver_policy === DeliverPolicy.StartSequence ? (info.config.opt_start_seq ?? 1) - 1 : 0;
  return Math.max(info.ack_floor.stream_seq, startedAfter);
}

/** A throw from `onBadPayload`, carried out of the fetch loop, whose own errors are retried. */
class CallbackFailure {
  constructor(readonly error: unknown) {}
}

function isNotFound(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const api = error as Error & { code?: unknown; status?: unknown };
  return error.name === 'ConsumerNotFoundError' || api.code === 10014 || api.status === 404 || /consumer not found/i.test(error.message);
}
