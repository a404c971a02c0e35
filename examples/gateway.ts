/**
 * The IoT gateway example (`npm start`): a simulated fleet flows through enrichment, outlier
 * filtering, watermark reordering and tumbling-window aggregation into `remoteWrite`.
 *
 *   npm start                                             # into an embedded receiver, in-process
 *   npm start -- --url http://127.0.0.1:9090/api/v1/write  # into Prometheus (or RXPROM_URL=...)
 *   npm start -- --devices 10000 --window 5s --duration 2m
 *   npm start -- --mqtt mqtt://127.0.0.1:1883 --devices 300  # readings from a broker (npm run fleet publishes them)
 *   npm start -- --nats nats://127.0.0.1:4222 --devices 300 --seed 1   # from JetStream (npm run fleet -- --nats …)
 *   npm start -- --state-dir state/gateway                 # durable: Ctrl-C, start again, it continues
 *
 * A live status table shows the flow; Ctrl-C drains (closes open windows, flushes batches,
 * finishes in-flight requests within --drain-timeout), prints a summary and exits 0. With
 * --state-dir, Ctrl-C instead saves a checkpoint (open windows, readings held for reordering,
 * unsent batches in the spool) and the next start continues from it: no window is written half
 * full and none is refused as a duplicate.
 */
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Observable, Subject, finalize, identity, takeUntil, tap, type OperatorFunction } from 'rxjs';
import { DurablePipeline, remoteWrite, type DurableSummary, type Logger, type Sample, type WriteOutcome } from '../src/index.js';
import { redactUrl } from '../src/core/redact.js';
import { startReceiver, type Receiver } from '../src/testing/index.js';
import { simulateFleet, type DeviceReading } from './fleet.js';
import { FleetSource } from './fleet-source.js';
import { FLEET_TOPICS, MqttReadingSource, mqttReadings } from './mqtt-readings.js';
import type { MqttSourceStats } from '../src/sources/mqtt/index.js';
import { gatewayPipeline, type GatewayStats } from './gateway-pipeline.js';
import { cliOptions } from './cli-options.js';
import { formatCount, formatRate, statusDisplay, type StatusRow } from './status.js';
import { startDashboard, type FlowReading } from './dashboard/server.js';

const USAGE = `usage: npm start -- [--url URL] [--devices N] [--window DURATION] [--duration DURATION]
                     [--header Name=Value ...] [--drain-timeout DURATION] [--json]
                     [--mqtt URL | --nats URL] [--seed S] [--state-dir DIR]
  --url            remote-write endpoint (default: $RXPROM_URL, else an embedded receiver)
  --devices        simulated devices, 1 to 1000000 (default 3000)
  --window         aggregation window, e.g. 10s (default 10s)
  --duration       stop by itself after this long (default: run until Ctrl-C)
  --header         extra request header, e.g. X-Scope-OrgID=tenant (repeatable)
  --drain-timeout  longest wait for in-flight work on shutdown (default 15s)
  --json           print the final summary as one JSON line
  --dashboard      port of the live page and /metrics on 127.0.0.1, or "off" (default 8080; 0 = any free port)
  --mqtt           read the readings from this MQTT broker (what \`npm run fleet -- --mqtt URL\` publishes)
                   instead of simulating them; --devices and --seed must match the publisher's (device registry)
  --client-id      the MQTT session's client id (default rxprom-gateway)
  --nats           read the readings from JetStream (stream READINGS, durable consumer "gateway": what
                   \`npm run fleet -- --nats URL\` publishes); --devices and --seed must match the publisher's
  --seed           the simulated fleet's seed (default 1)
  --state-dir      keep checkpoints in DIR and a disk spool in DIR/spool: Ctrl-C saves open windows
                   and the next start with the same DIR continues from them
  --checkpoint-interval  time between checkpoints with --state-dir (default 5s)`;

const cli = cliOptions('gateway', USAGE);
const fail: (message: string) => never = cli.fail;
const { duration: parseDuration, number: parseCount } = cli;

async function main(): Promise<void> {
  let args;
  try {
    args = parseArgs({
      options: {
        url: { type: 'string' },
        devices: { type: 'string', default: '3000' },
        window: { type: 'string', default: '10s' },
        duration: { type: 'string' },
        header: { type: 'string', multiple: true },
        'drain-timeout': { type: 'string', default: '15s' },
        json: { type: 'boolean', default: false },
        dashboard: { type: 'string', default: '8080' },
        nats: { type: 'string' },
        mqtt: { type: 'string' },
        'client-id': { type: 'string', default: 'rxprom-gateway' },
        seed: { type: 'string', default: '1' },
        'state-dir': { type: 'string' },
        'checkpoint-interval': { type: 'string', default: '5s' },
        help: { type: 'boolean', default: false },
      },
    }).values;
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  if (args.help) {
    console.log(USAGE);
    return;
  }
  const devices = parseCount('devices', args.devices, 1, 1_000_000);
  const windowMs = parseDuration('window', args.window);
  if (windowMs < 100) fail('option --window must be at least 100ms');
  const stateDir = args['state-dir'];
  if (stateDir !== undefined && stateDir.trim() === '') fail('option --state-dir must name a directory');
  const durationMs = args.duration === undefined ? undefined : parseDuration('duration', args.duration);
  const drainTimeoutMs = parseDuration('drain-timeout', args['drain-timeout']);
  const checkpointIntervalMs = parseDuration('checkpoint-interval', args['checkpoint-interval']);
  if (checkpointIntervalMs < 10) fail('option --checkpoint-interval must be at least 10ms');
  const headers: Record<string, string> = {};
  for (const header of args.header ?? []) {
    const at = header.indexOf('=');
    if (at <= 0) {
      // Never the value: a header written as curl writes it ("Authorization: Bearer ...") holds a credential.
      const name = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.exec(header)?.[0];
      fail(`option --header must be Name=Value (got ${name === undefined ? 'a value without a header name' : `"${name}…"`}; the rest is not shown: it may be a credential)`);
    }
    headers[header.slice(0, at)] = header.slice(at + 1);
  }

  let receiver: Receiver | undefined;
  let url = args.url ?? process.env['RXPROM_URL'];
  if (!url) {
    receiver = await startReceiver({ mode: 'strict' });
    url = receiver.url;
  }
  const log = (line: string): void => {
    if (!args.json) console.log(line);
  };
  // The URL may carry a password (http://user:pass@host/...): never print it.
  const shownUrl = redactUrl(url);
  log(`rxprom gateway: ${formatCount(devices)} devices, ${windowMs} ms windows → ${shownUrl}${receiver ? ' (embedded receiver)' : ''}`);

  const fleet = simulateFleet({ devices, seed: parseCount('seed', args.seed, 0, 2 ** 31) });
  if (args.nats !== undefined && args.mqtt !== undefined) fail('give --nats or --mqtt, not both');
  // Loaded only when asked for: the NATS clients are optional and take time to load.
  const nats = args.nats === undefined ? undefined : (await import('./nats-readings.js')).natsReadings({ servers: args.nats, logger: quietLogger(args.json) });
  if (nats) log(`reading from JetStream ${redactUrl(args.nats ?? '')} (stream READINGS, durable consumer "gateway")`);
  const stop$ = new Subject<void>();
  let eventsIn = 0;
  const simulated$ = new Observable<DeviceReading>((subscriber) => {
    const timer = setInterval(() => {
      for (const reading of fleet.advance(Date.now())) {
        eventsIn++;
        subscriber.next(reading);
      }
    }, 100);
    return () => clearInterval(timer);
  });
  const written = { samples: 0, newestTimestamp: 0 };
  const logger = quietLogger(args.json);
  // From a broker, the simulation only provides the device registry. Without --state-dir each
  // message is acknowledged once the pipeline has it; with it, on each checkpoint.
  const mqttOptions = args.mqtt === undefined ? undefined : { url: args.mqtt, clientId: args['client-id'], logger };
  const broker = mqttOptions && stateDir === undefined ? mqttReadings(mqttOptions) : undefined;
  const brokerSource = mqttOptions && stateDir !== undefined ? new MqttReadingSource(mqttOptions) : undefined;
  const mqttStats = (): MqttSourceStats | undefined => (broker?.source ?? brokerSource?.mqtt)?.stats();
  if (mqttOptions) log(`reading from ${redactUrl(mqttOptions.url)} as "${mqttOptions.clientId}" (topics ${FLEET_TOPICS})`);
  const readings$ = nats ? nats.readings$.pipe(tap(() => eventsIn++)) : broker ? broker.readings$.pipe(tap(() => eventsIn++)) : simulated$;
  // Remember the newest aggregate that entered the sink, for the lag figure.
  const noteNewest = tap((value: Sample) => {
    if (value.timestamp > written.newestTimestamp) written.newestTimestamp = value.timestamp;
  });
  // The dashboard starts once the sink exists; until then its tap passes samples through.
  let showAggregate: OperatorFunction<Sample, Sample> = identity;
  const dashboardTap: OperatorFunction<Sample, Sample> = (source) => source.pipe(tap((sample) => relay(sample)));
  const relayed = new Subject<Sample>();
  const relay = (sample: Sample): void => relayed.next(sample);

  let pipeline: ReturnType<typeof gatewayPipeline>;
  let sink: ReturnType<typeof remoteWrite>;
  let durable: DurablePipeline<DeviceReading, number, WriteOutcome> | undefined;
  let restoredHeld: HeldState | undefined;
  let runStats = (): GatewayStats => pipeline.stats();
  let savedHeld: HeldState | undefined;
  if (stateDir === undefined) {
    pipeline = gatewayPipeline({ registry: fleet.registry, windowMs });
    sink = remoteWrite({ url, headers, maxDelayMs: 1000, logger });
  } else {
    // From JetStream, the checkpoint holds the stream sequence and the consumer is acknowledged up to it after each checkpoint.
    const source = nats ? nats.source : brokerSource ?? new FleetSource(fleet);
    const built: { pipeline?: ReturnType<typeof gatewayPipeline>; sink?: ReturnType<typeof remoteWrite> } = {};
    try {
      durable = await DurablePipeline.start<DeviceReading, number, WriteOutcome>({
        directory: stateDir,
        // The window size is part of the identity: open windows of another size cannot continue.
        pipeline: `rxprom-gateway window=${windowMs}ms`,
        source,
        checkpointIntervalMs,
        build: (state) => {
          built.pipeline = gatewayPipeline({ registry: fleet.registry, windowMs, state });
          built.sink = remoteWrite({ url, headers, maxDelayMs: 1000, logger, state: state.slot('sink'), spool: { directory: join(stateDir, 'spool') } });
          const stages = built.pipeline;
          const writer = built.sink;
          return {
            operator: (input) => input.pipe(tap(() => eventsIn++), stages.operator, dashboardTap, noteNewest, writer),
            pressure: writer.pressure,
          };
        },
        onOutput: (outcome) => {
          if (outcome.type === 'written') written.samples += outcome.samples;
        },
        // What the stop's checkpoint holds, for the summary (the source is paused by then).
        onCheckpoint: (checkpoint) => {
          if (checkpoint.reason === 'stop' && built.pipeline && built.sink) savedHeld = heldState(built.pipeline, built.sink);
        },
        logger,
      });
    } catch (error) {
      console.error(`gateway: cannot start from state directory ${stateDir}: ${error instanceof Error ? error.message : String(error)}`);
      await receiver?.close();
      process.exitCode = 1;
      return;
    }
    pipeline = built.pipeline!;
    sink = built.sink!;
    restoredHeld = heldState(pipeline, sink);
    // Restored operators carry their counters on; the figures below are this run's.
    const restoredCounters = pipeline.stats();
    const current = pipeline;
    runStats = () => sinceRestore(current.stats(), restoredCounters);
    log(describeRestored(durable, stateDir, restoredHeld));
  }

  // The live page (charts over Server-Sent Events) and /metrics for Prometheus.
  const dashboard =
    args.dashboard === 'off'
      ? undefined
      : await startDashboard({
          port: parseCount('dashboard', args.dashboard, 0, 65535),
          sink,
          operators: pipeline.operators,
          readFlow: (): FlowReading => {
            const m = sink.metrics.snapshot();
            const p = runStats();
            return {
              eventsIn, unregistered: p.unregistered, outliers: p.outliers, duplicates: p.duplicates, lateReorder: p.lateReorder, lateWindow: p.lateWindow,
              aggregates: p.samplesOut, written: m.samplesWritten, dropped: m.samplesDroppedTotal, retries: m.requestRetries,
              pending: m.samplesPending, inFlight: m.requestsInFlight,
              lagSeconds: written.newestTimestamp ? Math.max(0, Date.now() - written.newestTimestamp) / 1000 : null,
            };
          },
        });
  if (dashboard) {
    relayed.pipe(dashboard.aggregates).subscribe();
    showAggregate = dashboardTap;
    log(`live page: ${dashboard.url}  (Prometheus metrics: ${dashboard.url}metrics)`);
  }

  const startedAt = Date.now();
  let last = { at: startedAt, requests: 0, events: 0 };
  const display = statusDisplay();
  const rows = (): StatusRow[] => {
    const m = sink.metrics.snapshot();
    const p = runStats();
    const now = Date.now();
    const dropped = Object.entries(m.samplesDropped).filter(([, n]) => n > 0).map(([reason, n]) => `${reason} ${formatCount(n)}`);
    const result: StatusRow[] = [
      ['events in', `${formatCount(eventsIn)} (${formatRate(eventsIn - last.events, now - last.at)})`],
      ['filtered', `unregistered ${formatCount(p.unregistered)}, outliers ${formatCount(p.outliers)}, duplicates ${formatCount(p.duplicates)}`],
      ['late', `reorder ${formatCount(p.lateReorder)}, window ${formatCount(p.lateWindow)}`],
      ['aggregates', `${formatCount(p.samplesOut)} samples from ${formatCount(p.windowsClosed)} windows`],
      ['written', `${formatCount(m.samplesWritten)} samples in ${formatCount(m.requestsWritten)} requests (${formatRate(m.requestsWritten - last.requests, now - last.at)} requests)`],
      ['dropped', dropped.length ? dropped.join(', ') : '0'],
      ['retries', formatCount(m.requestRetries)],
      ['pending', `${formatCount(m.samplesPending)} samples, ${m.requestsInFlight} requests in flight`],
      ['lag', written.newestTimestamp ? `${(Math.max(0, now - written.newestTimestamp) / 1000).toFixed(1)} s from newest window end to now (window ${windowMs / 1000} s)` : '-'],
    ];
    if (nats) {
      const j = nats.stats();
      result.push(['jetstream', `${formatCount(j.pendingAcks)} awaiting ack, ${formatCount(j.badPayloads)} bad payloads, ${j.reconnects} reconnects`]);
    }
    const q = mqttStats();
    if (q) {
      result.push(['mqtt', `bad payload ${formatCount(q.bad['bad-payload'])}, unmatched topic ${formatCount(q.bad['unmatched-topic'])}, redelivered ${formatCount(q.redelivered)}, reconnects ${formatCount(q.reconnectAttempts)}`]);
    }
    last = { at: now, requests: m.requestsWritten, events: eventsIn };
    return result;
  };
  const ticker = args.json ? undefined : setInterval(() => display.update(rows()), 1000);

  let drainTimer: NodeJS.Timeout | undefined;
  let durableSummary: DurableSummary<number> | undefined;
  const done = new Promise<'completed' | 'failed' | 'timeout' | 'stopped'>((resolve) => {
    let shutdown: (why: string) => void;
    if (durable) {
      const running = durable;
      void running.done.then((summary) => {
        clearTimeout(drainTimer);
        durableSummary = summary;
        if (summary.ending === 'failed') console.error(`\ngateway: the pipeline failed: ${summary.error?.message ?? 'unknown error'}`);
        resolve(summary.ending === 'running' ? 'completed' : summary.ending);
      });
      shutdown = (why) => {
        if (drainTimer) return;
        const saving = `\n${why}: saving a checkpoint (open windows are kept for the next start, not written half full; at most ${drainTimeoutMs} ms)…`;
        if (ticker) display.note(saving);
        else log(saving);
        // The previous checkpoint stays valid if this one cannot finish in time.
        drainTimer = setTimeout(() => resolve('timeout'), drainTimeoutMs);
        void running.stop({ timeoutMs: drainTimeoutMs });
      };
    } else {
      const subscription = readings$
        .pipe(
          takeUntil(stop$),
          pipeline.operator,
          (source) => source.pipe(showAggregate),
          noteNewest,
          sink,
          finalize(() => clearTimeout(drainTimer)),
        )
        .subscribe({
          next: (outcome: WriteOutcome) => {
            if (outcome.type === 'written') written.samples += outcome.samples;
          },
          error: (error: unknown) => {
            console.error(`\ngateway: the pipeline failed: ${error instanceof Error ? error.message : String(error)}`);
            resolve('failed');
          },
          complete: () => resolve('completed'),
        });
      shutdown = (why) => {
        if (drainTimer) return;
        const draining = `\n${why}: draining (closing windows, flushing batches, finishing requests; at most ${drainTimeoutMs} ms)…`;
        // Through the display while it redraws: printed below the table, not overwritten by it.
        if (ticker) display.note(draining);
        else log(draining);
        drainTimer = setTimeout(() => {
          subscription.unsubscribe();
          resolve('timeout');
        }, drainTimeoutMs);
        stop$.next();
      };
    }
    process.once('SIGINT', () => shutdown('Ctrl-C'));
    process.once('SIGTERM', () => shutdown('SIGTERM'));
    if (durationMs !== undefined) setTimeout(() => shutdown(`${durationMs} ms elapsed`), durationMs).unref();
  });

  const ending = await done;
  // Written (or given up on): acknowledge what was read, so a restart continues after it.
  if (nats && ending === 'completed' && !durable) await nats.finish();
  else await nats?.source.close();
  if (ticker) {
    clearInterval(ticker);
    display.update(rows());
    display.done();
  }
  const m = sink.metrics.snapshot();
  const p = runStats();
  const summary = {
    ending,
    url: shownUrl,
    seconds: (Date.now() - startedAt) / 1000,
    eventsIn,
    pipeline: p,
    samplesToSink: m.samplesIn,
    samplesWritten: m.samplesWritten,
    requestsWritten: m.requestsWritten,
    requestRetries: m.requestRetries,
    samplesDropped: m.samplesDropped,
    samplesPending: m.samplesPending,
    jetstream: nats?.stats(),
    mqtt: mqttStats(),
    receiver: receiver ? { samplesStored: receiver.stats().samplesAccepted, series: receiver.seriesCount() } : undefined,
    durable: durable ? durableReport(durableSummary ?? durable.summary(), restoredHeld, savedHeld) : undefined,
  };
  if (args.json) {
    console.log(JSON.stringify(summary));
  } else {
    console.log(
      `\nsummary: ${formatCount(eventsIn)} events in → ${formatCount(p.samplesOut)} aggregate samples → ` +
        `${formatCount(m.samplesWritten)} written, ${formatCount(m.samplesLostTotal)} dropped, ${formatCount(m.samplesPending)} unfinished` +
        // 'replayed' and 'spooled' are outcomes too, but not losses: shown apart.
        (m.samplesDroppedTotal > m.samplesLostTotal ? `, ${formatCount(m.samplesDroppedTotal - m.samplesLostTotal)} replayed or left in the spool (not lost)` : '') +
        ` (${ending}, ${summary.seconds.toFixed(1)} s)`,
    );
    if (durable) console.log(describeSaved(durableSummary ?? durable.summary(), stateDir ?? '', savedHeld));
    if (receiver) console.log(`embedded receiver holds ${formatCount(summary.receiver?.samplesStored ?? 0)} samples in ${formatCount(summary.receiver?.series ?? 0)} series`);
  }
  await dashboard?.close();
  await receiver?.close();
  process.exitCode = ending === 'failed' ? 1 : 0;
}

/** What the gateway's stages hold, read from their stats: at a restore, what they took from the checkpoint; at a stop, what the checkpoint saved. */
interface HeldState {
  openWindows: number;
  heldReadings: number;
  unsentSamples: number;
}

function heldState(pipeline: ReturnType<typeof gatewayPipeline>, sink: ReturnType<typeof remoteWrite>): HeldState {
  const p = pipeline.stats();
  return { openWindows: p.openWindows, heldReadings: p.heldForReorder, unsentSamples: sink.metrics.snapshot().samplesPending };
}

/** The counters of this run: the restored operators' counters go on from where the checkpoint left them. */
function sinceRestore(now: GatewayStats, restored: GatewayStats): GatewayStats {
  return {
    ...now,
    unregistered: now.unregistered - restored.unregistered,
    outliers: now.outliers - restored.outliers,
    duplicates: now.duplicates - restored.duplicates,
    lateReorder: now.lateReorder - restored.lateReorder,
    lateWindow: now.lateWindow - restored.lateWindow,
    samplesOut: now.samplesOut - restored.samplesOut,
    windowsClosed: now.windowsClosed - restored.windowsClosed,
  };
}

function describeHeld(held: HeldState): string {
  return `${formatCount(held.openWindows)} open window${held.openWindows === 1 ? '' : 's'}, ${formatCount(held.heldReadings)} readings held for reordering, ${formatCount(held.unsentSamples)} samples not yet written`;
}

function describeRestored(durable: DurablePipeline<DeviceReading, number, WriteOutcome>, stateDir: string, held: HeldState): string {
  const restored = durable.restored;
  if (!restored) return `state directory ${stateDir}: no checkpoint yet, starting fresh`;
  const downtime = restored.position === undefined ? undefined : (Date.now() - restored.position) / 1000;
  return (
    `restored checkpoint #${restored.sequence} from ${stateDir}: ${describeHeld(held)}` +
    (downtime === undefined ? '' : `; the simulated fleet resumes at the current time, so the ${downtime.toFixed(1)} s of downtime is a gap in the readings`)
  );
}

function describeSaved(summary: DurableSummary<number>, stateDir: string, held: HeldState | undefined): string {
  const saved = summary.lastCheckpoint;
  const failures = summary.checkpointFailures > 0 ? ` (${summary.checkpointFailures} checkpoints failed, see above)` : '';
  if (!saved) return `no checkpoint saved in ${stateDir}${failures}`;
  if (saved.reason === 'stop') {
    return `saved checkpoint #${saved.sequence} on exit (${formatCount(saved.stateBytes)} bytes)${failures}: ${held ? describeHeld(held) : 'the open state'} kept for the next start, not written half full; \`npm start -- --state-dir ${stateDir}\` continues from it`;
  }
  return `last checkpoint #${saved.sequence} (${saved.reason})${failures}; the next start with --state-dir ${stateDir} continues from it`;
}

function durableReport(summary: DurableSummary<number>, restoredHeld: HeldState | undefined, savedHeld: HeldState | undefined) {
  return {
    ending: summary.ending,
    restored: summary.restored ? { sequence: summary.restored.sequence, ...restoredHeld, untaken: summary.restored.untaken } : null,
    saved: summary.lastCheckpoint ? { sequence: summary.lastCheckpoint.sequence, reason: summary.lastCheckpoint.reason, stateBytes: summary.lastCheckpoint.stateBytes, ...(summary.lastCheckpoint.reason === 'stop' ? savedHeld : {}) } : null,
    checkpoints: summary.checkpoints,
    checkpointFailures: summary.checkpointFailures,
    damagedCheckpoints: summary.damagedCheckpoints.length,
    pauses: summary.pauses,
  };
}

/** The sink's warnings would tear the status table; keep errors, send the rest to stderr briefly. */
function quietLogger(silent: boolean): Logger {
  return {
    info: () => {},
    warn: (fields: Record<string, unknown>, message: string) => {
      if (!silent) process.stderr.write(`rxprom: ${message} ${JSON.stringify(fields)}\n`);
    },
    error: (fields: Record<string, unknown>, message: string) => process.stderr.write(`rxprom: ${message} ${JSON.stringify(fields)}\n`),
  };
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
