/**
 * An MQTT subscription as an acknowledged source (mqtt.js 5): QoS 1 on a persistent session
 * (`clean: false`, a stable `clientId`), topics mapped to labels by patterns, payloads parsed by a
 * pluggable parser. A message's PUBACK is sent only once `commit(position)` covers it, so a
 * message whose effect is not durable downstream is delivered again by the broker after a crash
 * or a reconnect.
 *
 * How: mqtt.js sends a QoS 1 message's PUBACK when its `handleMessage(packet, callback)` calls
 * back without an error, and handles packets one at a time until it does. The source calls back
 * at once (so the connection keeps reading) with a marker error that skips mqtt.js' PUBACK, keeps
 * the packet id with the message's position, and writes the PUBACK itself on commit. Holding
 * that callback is also how `pause()` stops reading: mqtt.js stops consuming the socket, the
 * kernel's buffers fill and the broker stops sending.
 *
 * The broker sends at most its in-flight window of unacknowledged messages (MQTT 5: the client's
 * Receive Maximum, `receiveMaximum` here, up to 65,535; MQTT 3.1.1: mosquitto's
 * `max_inflight_messages`, default 20), so with acknowledgement on commit the throughput is at
 * most one window per commit interval. README ("MQTT source") has the measurements.
 */
import { connect, type IClientOptions, type IConnackPacket, type IPublishPacket, type MqttClient, type Packet } from 'mqtt';
import { Observable, type Subscriber } from 'rxjs';
import { ConfigError, Undisclosed } from '../../core/errors.js';
import { silentLogger, type Logger } from '../../core/logger.js';
import { functionOption, loggerOption, numberOption } from '../../core/options.js';
import { redactUrl } from '../../core/redact.js';
import type { AcknowledgedSource, Pausable, Positioned } from '../acknowledged.js';
import { AcknowledgedSourceBase } from '../acknowledged-base.js';
import type { PayloadParser } from './payload.js';
import { topicLabels, type TopicLabels } from './topic-labels.js';
import type { TopicPattern } from './topic-pattern.js';

/** A parsed message. */
export interface MqttMessage<T> {
  readonly topic: string;
  /**
   * The labels the topic pattern's named levels gave (`{ site, room, device }`): while the topic
   * is remembered (`rememberTopics`), frozen and the same object for every message on it;
   * otherwise a fresh object. Read-only either way.
   */
  readonly labels: Readonly<Record<string, string>>;
  /** What the payload parser returned. */
  readonly value: T;
  /** Arrival time (ms epoch). */
  readonly receivedAt: number;
  /** The broker flagged it as sent again (after a reconnect): it may have been emitted before. */
  readonly redelivered: boolean;
}

/** Why a message was not emitted. */
export type BadMessageKind = 'unmatched-topic' | 'bad-payload';
export const BAD_MESSAGE_KINDS: readonly BadMessageKind[] = ['unmatched-topic', 'bad-payload'];

/** A message that was counted, acknowledged and not emitted. */
export interface BadMessage {
  readonly kind: BadMessageKind;
  readonly topic: string;
  readonly reason: string;
  /** The payload's start as text, at most 200 characters. */
  readonly payload: string;
  readonly receivedAt: number;
}

export interface MqttSourceOptions<T> {
  /** `mqtt://host:1883`, `mqtts://…`, `ws://…`; a password in it is never printed. */
  readonly url: string;
  /** The session's identity: the same id after a restart resumes the session and its unacknowledged messages. */
  readonly clientId: string;
  /** One or more patterns such as `sensors/{site}/{room}/{device}`; a message takes the labels of the first that matches. */
  readonly topics: string | readonly string[];
  /**
   * Distinct topics whose labels are remembered (default 65,536, 0–16,777,216): each is split and
   * matched once, and its messages share one frozen labels object. Past the bound the oldest
   * remembered topic is forgotten (matched again when it comes back; counted in `stats()`
   * `topicsForgotten`, the first time logged as a WARN), and while forgetting is the rule,
   * remembering new topics pauses. Unmatched topics are never remembered.
   */
  readonly rememberTopics?: number;
  /** Turns a payload into the element's value; a throw marks the message bad with the error's message as the reason. */
  readonly payload: PayloadParser<T>;
  /** Subscription QoS: 1 (default; acknowledged on commit) or 0 (nothing to acknowledge, nothing redelivered). */
  readonly qos?: 0 | 1;
  /** MQTT protocol version: 5 (default) or 4 (3.1.1, where the broker's own in-flight limit applies). */
  readonly protocolVersion?: 4 | 5;
  /** MQTT 5 Receive Maximum: messages the broker may send before the oldest is acknowledged (default 65535, 1–65535). */
  readonly receiveMaximum?: number;
  /** MQTT 5 session expiry: how long the broker keeps the session while disconnected (default 604800 = a week). */
  readonly sessionExpirySeconds?: number;
  /** First reconnect delay (default 1000 ms); doubles after each failed attempt up to `maxReconnectDelayMs`. */
  readonly reconnectDelayMs?: number;
  /** Longest reconnect delay (default 30000 ms). */
  readonly maxReconnectDelayMs?: number;
  /** Longest wait for the broker's CONNACK (default 30000 ms). */
  readonly connectTimeoutMs?: number;
  /** MQTT keep-alive (default 60 s). A pause much longer than this ends in a reconnect (nothing is read, not even the broker's ping answer). */
  readonly keepaliveSeconds?: number;
  readonly username?: string;
  readonly password?: string;
  /** Told about every bad message (after it was counted and logged). A throw errors the stream. */
  readonly onBadMessage?: (bad: BadMessage) => void;
  readonly logger?: Logger;
}

export interface MqttSourceStats {
  /** Messages handed over by the broker. */
  received: number;
  emitted: number;
  /** Bad messages by kind. */
  bad: Record<BadMessageKind, number>;
  /** Messages the broker flagged as sent again. */
  redelivered: number;
  /** PUBACKs sent (on commit, and at once for bad messages). */
  acknowledged: number;
  /** Emitted QoS 1 messages waiting for a commit. */
  pendingAcks: number;
  /** Messages emitted but not acknowledged when their connection ended: the broker sends them again. */
  unacknowledgedAtDisconnect: number;
  connects: number;
  /** Connections lost (not counting the source's own close). */
  disconnects: number;
  reconnectAttempts: number;
  /** Times the broker had no session for the client on a reconnect (messages sent meanwhile were not kept). */
  sessionsLost: number;
  /** Messages held back by `pause()` until `resume()`. */
  heldWhilePaused: number;
  /** Errors mqtt.js reported (connection refused, protocol errors); each is logged. */
  clientErrors: number;
  /** Messages sent again after a restart that the restored checkpoint already covered: acknowledged, not emitted. */
  alreadyCheckpointed: number;
  /** Topics forgotten to keep within `rememberTopics` (more distinct topics than the bound): each is matched again when it comes back. */
  topicsForgotten: number;
}

/** Passed to mqtt.js' `handleMessage` callback: go on with the next packet, but send no PUBACK now. */
const ACK_LATER = new Error('rxprom: acknowledged on commit');

interface PendingAck {
  readonly position: number;
  readonly messageId: number;
  readonly connection: number;
  readonly topic: string;
}

/** `checkpointCovered`: the emitted, unacknowledged messages a checkpoint covers, as [packet id, topic]. */
interface MqttCovered {
  readonly unacknowledged: ReadonlyArray<readonly [number, string]>;
}

interface HeldMessage {
  readonly packet: IPublishPacket;
  readonly callback: (error?: Error) => void;
  readonly connection: number;
}

/** Longest wait for the previous subscription's connection to close before the next one connects. */
const PREVIOUS_CLOSE_WAIT_MS = 5000;

/** One subscription's client and what it holds. */
interface Session {
  readonly client: MqttClient;
  /** The client was told to connect (it waits for the previous subscription's connection to close first). */
  started: boolean;
  readonly subscriber: Subscriber<Positioned<MqttMessage<unknown>, number>>;
  /** Counts the connections: a packet id means something only on the connection it came on. */
  connection: number;
  connected: boolean;
  pending: PendingAck[];
  pendingHead: number;
  held: HeldMessage | undefined;
  closed: boolean;
}

export class MqttSource<T> extends AcknowledgedSourceBase<MqttMessage<T>> implements AcknowledgedSource<MqttMessage<T>, number>, Pausable {
  readonly clientId: string;
  readonly patterns: readonly TopicPattern[];
  private readonly topicLabels: TopicLabels;
  /** Whether the WARN that topics are being forgotten (more distinct topics than `rememberTopics`) was logged. */
  private toldTopicsForgotten = false;
  private readonly url: string;
  private readonly shownUrl: string;
  private readonly parse: PayloadParser<T>;
  private readonly qos: 0 | 1;
  private readonly clientOptions: IClientOptions;
  private readonly reconnectDelayMs: number;
  private readonly maxReconnectDelayMs: number;
  private readonly onBadMessage: ((bad: BadMessage) => void) | undefined;
  private readonly logger: Logger;
  private readonly counters: MqttSourceStats = {
    received: 0, emitted: 0, bad: { 'unmatched-topic': 0, 'bad-payload': 0 }, redelivered: 0, acknowledged: 0, pendingAcks: 0,
    unacknowledgedAtDisconnect: 0, connects: 0, disconnects: 0, reconnectAttempts: 0, sessionsLost: 0, heldWhilePaused: 0, clientErrors: 0,
    alreadyCheckpointed: 0, topicsForgotten: 0,
  };
  /** From the restored checkpoint: packet id → topic of messages it covers that were never acknowledged. */
  private covered = new Map<number, string>();
  private sequence = 0;
  private session: Session | undefined;
  /**
   * Settles once the previous subscription's connection has closed: the broker has then read its
   * last PUBACKs (a commit just before unsubscribing) and its DISCONNECT. A new connection under
   * the same client id made earlier could take the session over first, and the broker would send
   * again what those PUBACKs acknowledged.
   */
  private previousClosed: Promise<void> = Promise.resolve();

  constructor(options: MqttSourceOptions<T>) {
    super('MQTT position');
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    if (typeof options.url !== 'string' || !/^(mqtts?|wss?|tcp|ssl):\/\//.test(options.url)) {
      throw new ConfigError('url', 'an mqtt://, mqtts://, ws:// or wss:// URL', typeof options.url === 'string' ? new Undisclosed(redactUrl(options.url)) : options.url);
    }
    this.url = options.url;
    this.shownUrl = redactUrl(options.url);
    if (typeof options.clientId !== 'string' || options.clientId.length === 0 || options.clientId.length > 65535) {
      throw new ConfigError('clientId', 'a non-empty string (the persistent session is kept under it)', options.clientId);
    }
    this.clientId = options.clientId;
    this.topicLabels = topicLabels(options.topics, options.rememberTopics);
    this.patterns = this.topicLabels.patterns;
    this.parse = functionOption<PayloadParser<T>>('payload', options.payload, true) as PayloadParser<T>;
    if (options.qos !== undefined && options.qos !== 0 && options.qos !== 1) throw new ConfigError('qos', '0 or 1', options.qos);
    this.qos = options.qos ?? 1;
    if (options.protocolVersion !== undefined && options.protocolVersion !== 4 && options.protocolVersion !== 5) {
      throw new ConfigError('protocolVersion', '4 (MQTT 3.1.1) or 5', options.protocolVersion);
    }
    const protocolVersion = options.protocolVersion ?? 5;
    const receiveMaximum = numberOption('receiveMaximum', options.receiveMaximum, 65535, { min: 1, max: 65535 });
    const sessionExpiryInterval = numberOption('sessionExpirySeconds', options.sessionExpirySeconds, 604_800, { min: 1, max: 0xffffffff });
    this.reconnectDelayMs = numberOption('reconnectDelayMs', options.reconnectDelayMs, 1000, { min: 1, max: 3_600_000 });
    this.maxReconnectDelayMs = numberOption('maxReconnectDelayMs', options.maxReconnectDelayMs, 30_000, { min: this.reconnectDelayMs, max: 3_600_000 });
    const connectTimeout = numberOption('connectTimeoutMs', options.connectTimeoutMs, 30_000, { min: 1, max: 3_600_000 });
    const keepalive = numberOption('keepaliveSeconds', options.keepaliveSeconds, 60, { min: 0, max: 65535 });
    if (options.username !== undefined && typeof options.username !== 'string') throw new ConfigError('username', 'a string', options.username);
    if (options.password !== undefined && typeof options.password !== 'string') throw new ConfigError('password', 'a string', new Undisclosed('a non-string value'));
    this.onBadMessage = functionOption<(bad: BadMessage) => void>('onBadMessage', options.onBadMessage, false);
    this.logger = loggerOption(options.logger, silentLogger);
    this.clientOptions = {
      clientId: this.clientId,
      clean: false,
      protocolVersion,
      connectTimeout,
      keepalive,
      reconnectPeriod: this.reconnectDelayMs,
      // Subscribed on every connect by the source itself (with the session's own options).
      resubscribe: false,
      username: options.username,
      password: options.password,
      properties: protocolVersion === 5 ? { receiveMaximum, sessionExpiryInterval } : undefined,
    };
  }

  stats(): MqttSourceStats {
    const pendingAcks = this.session ? this.session.pending.length - this.session.pendingHead : 0;
    return { ...this.counters, bad: { ...this.counters.bad }, pendingAcks, topicsForgotten: this.topicLabels.forgotten };
  }

  /**
   * Connects, subscribes and emits the session's messages: first what the broker kept for it
   * (queued while away, or delivered and never acknowledged), then new ones. Positions are a
   * local sequence; `position` (a checkpoint's) only makes them continue after it, since what is
   * replayed is the broker's to decide. One subscription at a time (one connection per client id);
   * a subscription made right after the previous one ended (RxJS' retry and repeat) connects once
   * that one's connection has closed (at most 5 s), so what it committed stays acknowledged.
   */
  resumeFrom(position?: number, covered?: unknown): Observable<Positioned<MqttMessage<T>, number>> {
    return new Observable<Positioned<MqttMessage<T>, number>>((subscriber) => {
      const invalid = position === undefined ? undefined : this.invalidPosition(position);
      if (invalid) {
        subscriber.error(invalid);
        return;
      }
      if (this.session) {
        subscriber.error(new Error(`rxprom: MQTT source "${this.clientId}" is already subscribed (one connection per client id)`));
        return;
      }
      if (position !== undefined && position > this.sequence) this.sequence = position;
      this.covered = coveredMessages(covered);
      const session = this.open(subscriber as Subscriber<Positioned<MqttMessage<unknown>, number>>);
      return () => this.close(session);
    });
  }

  /**
   * The messages emitted up to `position` and not acknowledged yet. A crash after the checkpoint
   * is saved and before `commit` acknowledges them makes the broker send them again, with their
   * packet ids and the DUP flag, ahead of anything new: given back to `resumeFrom`, they are
   * acknowledged and not emitted a second time.
   */
  checkpointCovered(position: number): MqttCovered {
    const unacknowledged: Array<readonly [number, string]> = [];
    const session = this.session;
    if (session) {
      for (let i = session.pendingHead; i < session.pending.length && session.pending[i].position <= position; i++) {
        const ack = session.pending[i];
        if (ack.connection === session.connection) unacknowledged.push([ack.messageId, ack.topic]);
      }
    }
    return { unacknowledged };
  }

  /** Acknowledges every emitted message up to and including `position` (cumulative). Resolves once the PUBACKs are written. */
  async commit(position: number): Promise<void> {
    // Whether or not the committed position moves, the acknowledgements up to `position` go out.
    this.advanceCommitted(position);
    const session = this.session;
    if (!session) return;
    const writes: Promise<void>[] = [];
    while (session.pendingHead < session.pending.length && session.pending[session.pendingHead].position <= position) {
      const ack = session.pending[session.pendingHead++];
      // An ack from an ended connection is void: the broker sends that message again.
      if (ack.connection === session.connection && session.connected && session.client.connected) writes.push(this.acknowledge(session, ack.messageId));
    }
    if (session.pendingHead > 1024 && session.pendingHead * 2 > session.pending.length) {
      session.pending = session.pending.slice(session.pendingHead);
      session.pendingHead = 0;
    }
    if (writes.length > 0) await Promise.all(writes);
  }

  /** Also delivers the message held since `pause()` (best effort: the one being handled then is held, not lost). */
  override resume(): void {
    super.resume();
    const session = this.session;
    const held = session?.held;
    if (!session || !held) return;
    session.held = undefined;
    if (held.connection === session.connection) this.deliver(session, held.packet, held.callback);
    else held.callback(ACK_LATER);
  }

  private open(subscriber: Subscriber<Positioned<MqttMessage<unknown>, number>>): Session {
    const client = connect(this.url, { ...this.clientOptions, manualConnect: true, properties: this.clientOptions.properties ? { ...this.clientOptions.properties } : undefined });
    const session: Session = { client, started: false, subscriber, connection: 0, connected: false, pending: [], pendingHead: 0, held: undefined, closed: false };
    this.session = session;
    void this.previousClosed.then(() => {
      if (session.closed) return;
      session.started = true;
      client.connect();
    });
    let failedAttempts = 0;

    client.handleMessage = (packet: Packet, callback: (error?: Error) => void): void => {
      if (packet.cmd !== 'publish') {
        callback();
        return;
      }
      if (session.closed) {
        // Not emitted, so not acknowledged: the broker keeps it for the next session.
        callback(ACK_LATER);
        return;
      }
      if (this.paused) {
        this.counters.heldWhilePaused++;
        session.held = { packet, callback, connection: session.connection };
        return;
      }
      this.deliver(session, packet, callback);
    };
    client.on('connect', (connack: IConnackPacket) => {
      const reconnect = this.counters.connects > 0;
      this.counters.connects++;
      session.connection++;
      session.connected = true;
      failedAttempts = 0;
      client.options.reconnectPeriod = this.reconnectDelayMs;
      if (reconnect && !connack.sessionPresent) {
        this.counters.sessionsLost++;
        this.logger.warn({ url: this.shownUrl, clientId: this.clientId }, `MQTT broker ${this.shownUrl} had no session for "${this.clientId}": messages published while it was away were not kept for it`);
      }
      this.logger.info({ url: this.shownUrl, clientId: this.clientId, sessionPresent: connack.sessionPresent }, `MQTT connected to ${this.shownUrl} as "${this.clientId}"${connack.sessionPresent ? ' (session resumed)' : ''}`);
      const subscriptions = Object.fromEntries(this.patterns.map((p) => [p.filter, this.clientOptions.protocolVersion === 5 ? { qos: this.qos, rh: 1 } : { qos: this.qos }]));
      client.subscribe(subscriptions, (error, granted) => {
        if (session.closed) return;
        // A granted QoS of 0x80 or more is a refusal (MQTT 3.1.1: 0x80; MQTT 5: its reason code).
        const refused = (granted ?? []).filter((g) => g.qos >= 0x80);
        if (error || refused.length > 0) {
          const what = error ? error.message : `refused ${refused.map((g) => `"${g.topic}" (code ${g.qos})`).join(', ')}`;
          this.close(session);
          subscriber.error(new Error(`rxprom: MQTT broker ${this.shownUrl} did not subscribe "${this.clientId}": ${what}`));
        }
      });
    });
    client.on('close', () => {
      if (session.closed) return;
      if (session.connected) {
        session.connected = false;
        this.counters.disconnects++;
        const unacknowledged = session.pending.length - session.pendingHead;
        this.counters.unacknowledgedAtDisconnect += unacknowledged;
        session.pending = [];
        session.pendingHead = 0;
        this.logger.warn({ url: this.shownUrl, clientId: this.clientId, unacknowledged }, `MQTT connection to ${this.shownUrl} lost; ${unacknowledged} message(s) not yet acknowledged will be delivered again`);
      }
      if (session.held && session.held.connection === session.connection) {
        // Delivered again on the next connection; let the old connection's reader go.
        const held = session.held;
        session.held = undefined;
        held.callback(ACK_LATER);
      }
    });
    client.on('reconnect', () => {
      this.counters.reconnectAttempts++;
      failedAttempts++;
      // mqtt.js waits `reconnectPeriod` before each attempt: grow it for the attempt after this one.
      client.options.reconnectPeriod = Math.min(this.maxReconnectDelayMs, this.reconnectDelayMs * 2 ** Math.min(failedAttempts, 30));
      this.logger.info({ url: this.shownUrl, clientId: this.clientId, attempt: failedAttempts, nextDelayMs: client.options.reconnectPeriod }, `MQTT reconnecting to ${this.shownUrl} (attempt ${failedAttempts})`);
    });
    client.on('error', (error: Error & { code?: string | number }) => {
      this.counters.clientErrors++;
      this.logger.warn({ url: this.shownUrl, clientId: this.clientId, code: error.code, error: error.message }, `MQTT client error (${this.shownUrl}): ${error.message}`);
    });
    return session;
  }

  private deliver(session: Session, packet: IPublishPacket, callback: (error?: Error) => void): void {
    const receivedAt = Date.now();
    this.counters.received++;
    if (packet.dup) this.counters.redelivered++;
    if (this.covered.size > 0) {
      // The broker resends what was in flight first: past the first new message nothing is covered.
      if (!packet.dup) this.covered.clear();
      else if (packet.messageId !== undefined && this.covered.get(packet.messageId) === packet.topic) {
        this.covered.delete(packet.messageId);
        this.counters.alreadyCheckpointed++;
        this.counters.acknowledged++;
        callback();
        return;
      }
    }
    const position = ++this.sequence;
    const acknowledged = packet.qos === 1 && packet.messageId !== undefined;
    const topic = packet.topic;
    const match = this.topicLabels.match(topic);
    if (!this.toldTopicsForgotten && this.topicLabels.forgotten > 0) this.tellTopicsForgotten();
    let value: T;
    try {
      if (!match.matched) throw new TopicError(`topic matches no pattern: ${match.reason}`);
      value = this.parse(packet.payload as Uint8Array, { topic, receivedAt });
    } catch (error) {
      const kind: BadMessageKind = error instanceof TopicError ? 'unmatched-topic' : 'bad-payload';
      this.bad(session, { kind, topic, reason: error instanceof Error ? error.message : String(error), payload: preview(packet.payload), receivedAt });
      // A bad message's fate is final: acknowledged now (by mqtt.js) rather than holding the window.
      if (acknowledged) this.counters.acknowledged++;
      callback();
      return;
    }
    if (acknowledged) session.pending.push({ position, messageId: packet.messageId as number, connection: session.connection, topic });
    this.counters.emitted++;
    // Emitted before calling back: the callback may read and deliver the next message at once.
    session.subscriber.next({ value: { topic, labels: match.labels, value, receivedAt, redelivered: packet.dup }, position });
    callback(acknowledged ? ACK_LATER : undefined);
  }

  private tellTopicsForgotten(): void {
    this.toldTopicsForgotten = true;
    const rememberTopics = this.topicLabels.rememberTopics;
    this.logger.warn(
      { clientId: this.clientId, rememberTopics },
      `MQTT source "${this.clientId}" sees more than ${rememberTopics} distinct topics: the oldest are forgotten and matched again when they come back (raise rememberTopics if they keep coming)`,
    );
  }

  private bad(session: Session, bad: BadMessage): void {
    this.counters.bad[bad.kind]++;
    this.logger.warn({ ...bad }, `MQTT message on "${bad.topic}" dropped (${bad.kind}): ${bad.reason}`);
    if (!this.onBadMessage) return;
    try {
      this.onBadMessage(bad);
    } catch (error) {
      this.close(session);
      session.subscriber.error(error);
    }
  }

  private acknowledge(session: Session, messageId: number): Promise<void> {
    this.counters.acknowledged++;
    return new Promise<void>((resolve) => sendPacket(session.client, { cmd: 'puback', messageId }, () => resolve()));
  }

  private close(session: Session): void {
    if (session.closed) return;
    session.closed = true;
    if (this.session === session) this.session = undefined;
    const held = session.held;
    session.held = undefined;
    held?.callback(ACK_LATER);
    // Never told to connect: nothing to end (its client has no connection yet).
    if (!session.started) return;
    // What was not committed stays unacknowledged: the broker keeps it for the next session.
    // end(false) writes DISCONNECT after what is queued (the PUBACKs of a last commit) and calls
    // back once the broker has closed the connection, or at once when there is none.
    const client = session.client;
    this.previousClosed = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, PREVIOUS_CLOSE_WAIT_MS);
      timer.unref?.();
      client.end(false, {}, () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

class TopicError extends Error {}

/** Reads `checkpointCovered`'s value back; anything else covers nothing. */
function coveredMessages(covered: unknown): Map<number, string> {
  const map = new Map<number, string>();
  const list = (covered as Partial<MqttCovered> | null | undefined)?.unacknowledged;
  if (!Array.isArray(list)) return map;
  for (const entry of list) {
    if (Array.isArray(entry) && Number.isInteger(entry[0]) && typeof entry[1] === 'string') map.set(entry[0] as number, entry[1]);
  }
  return map;
}

function preview(payload: Uint8Array | string): string {
  const text = typeof payload === 'string' ? payload : Buffer.from(payload.buffer, payload.byteOffset, Math.min(payload.byteLength, 800)).toString('utf8');
  return text.slice(0, 200);
}

/**
 * Writes a packet on the client's current connection. mqtt.js has no public call for a PUBACK
 * sent later than its own handling; `_sendPacket` is the method its handlers use for it (checked
 * against mqtt.js 5.16 by the source's tests, which see unacknowledged messages redelivered and
 * acknowledged ones not).
 */
function sendPacket(client: MqttClient, packet: { cmd: 'puback'; messageId: number }, done: () => void): void {
  const send = (client as unknown as { _sendPacket: (packet: object, callback: (error?: Error) => void) => void })._sendPacket;
  send.call(client, packet, () => done());
}

/** An MQTT source; see `MqttSourceOptions`. */
export function mqttSource<T>(options: MqttSourceOptions<T>): MqttSource<T> {
  return new MqttSource(options);
}
