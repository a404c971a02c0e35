/**
 * The fault matrix: every fault a receiver or the network can produce, under every policy that
 * can change its handling, at every moment of a stream's life, against a real Prometheus and a
 * real VictoriaMetrics behind the fault proxy. One `it` per combination, generated below.
 *
 * Each combination writes its own metric (so what is read back is its own) and checks:
 * - accounting: samplesIn = written + dropped (by reason) + pending, pending 0 at the end, and
 *   when the stream completes or errors, every input sample in exactly one outcome;
 * - what the receiver stores is exactly what the outcomes call written: the samples of the
 *   requests the receiver answered 2xx (seen at the proxy, decoded), their count, and the
 *   stored samples read back, all equal;
 * - per-series order: across the requests the receiver accepted, each series' timestamps only
 *   increase (VictoriaMetrics would store a late sample without complaint);
 * - the behaviour the project's rules give the fault and the policy (see `expectationOf`).
 *
 * Rules: 2xx written; 5xx, 429, reset, timeout and a refused connection retried; at the retry
 * limit per `onMaxRetriesExceeded`; 401/403/404 error the stream with a RemoteWriteError after
 * the outcome that accounts for the batch; 307/308 followed; any other 3xx a failure of the
 * stream (a RemoteWriteError naming the status); a 400 splits the batch to isolate the offending
 * sample, which alone is handled per `onNonRetryable`; other 4xx per `onNonRetryable`; samples
 * accepted but not written when the pipeline ends first (error, unsubscription) are dropped with
 * reason 'aborted'.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import snappy from 'snappyjs';
import { Observable, type Subscription } from 'rxjs';
import { remoteWrite, type RemoteWriteOperator } from '../../operators/remote-write.js';
import { RemoteWriteError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Labels, Sample, WriteOutcome } from '../../src/core/model.js';
import { decodeWriteRequest } from '../../src/protocol/reference.js';
import { startPrometheus, startVictoriaMetrics, unavailable, type TsdbServer } from '../harness/servers.js';
import { startFaultProxy, type Fault, type FaultProxy, type ProxyExchange } from '../harness/fault-proxy.js';

// ---- the combinations --------------------------------------------------------------------------

type FaultClass = 'retryable' | 'non-retryable' | 'fatal' | 'redirect-followed' | 'redirect-other';

interface FaultKind {
  readonly name: string;
  readonly class: FaultClass;
  /** The status the stream's RemoteWriteError carries when it fails on this fault (undefined: network error). */
  readonly status?: number;
  /** How the fault is made: a proxy fault, the endpoint down, or a poison sample the proxy answers 400 to. */
  readonly make: ((proxyOrigin: string) => Fault) | 'refused' | 'poison';
  /** Per-attempt timeout of the sink: short where the fault is a silence, so the matrix stays quick. */
  readonly timeoutMs: number;
}

const QUICK = 2000;
// Long enough that a real answer from a loaded machine never looks like silence.
const SILENCE = 600;

const FAULTS: readonly FaultKind[] = [
  { name: '429 with Retry-After', class: 'retryable', status: 429, make: () => ({ status: 429, body: 'slow down', headers: { 'Retry-After': '1' } }), timeoutMs: QUICK },
  { name: '429', class: 'retryable', status: 429, make: () => ({ status: 429, body: 'slow down' }), timeoutMs: QUICK },
  { name: '500', class: 'retryable', status: 500, make: () => ({ status: 500, body: 'internal error' }), timeoutMs: QUICK },
  { name: '503', class: 'retryable', status: 503, make: () => ({ status: 503, body: 'unavailable' }), timeoutMs: QUICK },
  { name: 'reset', class: 'retryable', make: () => ({ reset: true }), timeoutMs: QUICK },
  { name: 'hang', class: 'retryable', make: () => ({ hang: true }), timeoutMs: SILENCE },
  { name: 'timeout', class: 'retryable', make: () => ({ delayMs: SILENCE * 3 }), timeoutMs: SILENCE },
  { name: 'refused', class: 'retryable', make: 'refused', timeoutMs: QUICK },
  { name: '400', class: 'non-retryable', status: 400, make: 'poison', timeoutMs: QUICK },
  { name: '413', class: 'non-retryable', status: 413, make: () => ({ status: 413, body: 'request entity too large' }), timeoutMs: QUICK },
  { name: '302', class: 'redirect-other', status: 302, make: (origin) => ({ status: 302, headers: { Location: `${origin}/moved/api/v1/write` } }), timeoutMs: QUICK },
  { name: '307', class: 'redirect-followed', make: (origin) => ({ status: 307, headers: { Location: `${origin}/moved/api/v1/write` } }), timeoutMs: QUICK },
  { name: '308', class: 'redirect-followed', make: (origin) => ({ status: 308, headers: { Location: `${origin}/moved/api/v1/write` } }), timeoutMs: QUICK },
  { name: '401', class: 'fatal', status: 401, make: () => ({ status: 401, body: 'unauthorized' }), timeoutMs: QUICK },
  { name: '403', class: 'fatal', status: 403, make: () => ({ status: 403, body: 'forbidden' }), timeoutMs: QUICK },
  { name: '404', class: 'fatal', status: 404, make: () => ({ status: 404, body: 'not found' }), timeoutMs: QUICK },
];

/** A retryable fault either clears after one attempt, or lasts until a request reaches the retry limit. */
type Persistence = 'once' | 'until-limit';
type When = 'first request' | 'mid-stream' | 'during completion' | 'during unsubscribe';
const WHENS: readonly When[] = ['first request', 'mid-stream', 'during completion', 'during unsubscribe'];

interface Policy {
  readonly onMaxRetriesExceeded: 'fail' | 'discard';
  readonly onNonRetryable: 'discard' | 'fail';
}

interface Combination {
  readonly name: string;
  readonly fault: FaultKind;
  readonly persistence: Persistence;
  readonly when: When;
  readonly policy: Policy;
}

/**
 * fault × persistence × when × policy, without the duplicates: a policy that cannot apply to a
 * fault (onNonRetryable for a 503, either one for a 401 or a fault met while unsubscribing) takes
 * both values in turn across the combinations instead of doubling them, and an unsubscription at
 * the first faulted attempt is the same whether the fault would have lasted or not.
 */
function combinations(): Combination[] {
  const list: Combination[] = [];
  for (const fault of FAULTS) {
    for (const persistence of fault.class === 'retryable' ? (['once', 'until-limit'] as const) : (['once'] as const)) {
      WHENS.forEach((when, whenIndex) => {
        if (when === 'during unsubscribe' && persistence === 'until-limit') return;
        const other = whenIndex % 2 === 0;
        const retryLimitMatters = persistence === 'until-limit' && when !== 'during unsubscribe';
        const nonRetryableMatters = fault.class === 'non-retryable' && when !== 'during unsubscribe';
        for (const onMaxRetriesExceeded of retryLimitMatters ? (['fail', 'discard'] as const) : [other ? ('discard' as const) : ('fail' as const)]) {
          for (const onNonRetryable of nonRetryableMatters ? (['discard', 'fail'] as const) : [other ? ('fail' as const) : ('discard' as const)]) {
            const name =
              `${fault.name}${fault.class === 'retryable' ? (persistence === 'once' ? ' (once)' : ' (until the retry limit)') : ''}, ${when}, ` +
              `onMaxRetriesExceeded=${onMaxRetriesExceeded}, onNonRetryable=${onNonRetryable}`;
            list.push({ name, fault, persistence, when, policy: { onMaxRetriesExceeded, onNonRetryable } });
          }
        }
      });
    }
  }
  return list;
}

// ---- what each combination must end in ------------------------------------------------------------

type Expectation =
  | { readonly end: 'complete'; readonly allWritten: true }
  /** Completes; some requests dropped with this reason, and no other drop. */
  | { readonly end: 'complete'; readonly allWritten: false; readonly dropReason: 'max-retries' | 'non-retryable'; readonly droppedSamples?: number }
  /** Errors with a RemoteWriteError of this status, after an outcome with this reason for the failed request. */
  | { readonly end: 'error'; readonly status: number | undefined; readonly dropReason: 'max-retries' | 'non-retryable' | 'fatal' | undefined; readonly droppedByReason?: number }
  | { readonly end: 'unsubscribed' };

function expectationOf(c: Combination): Expectation {
  if (c.when === 'during unsubscribe') return { end: 'unsubscribed' };
  switch (c.fault.class) {
    case 'retryable':
      if (c.persistence === 'once') return { end: 'complete', allWritten: true };
      return c.policy.onMaxRetriesExceeded === 'fail'
        ? { end: 'error', status: c.fault.status, dropReason: 'max-retries' }
        : { end: 'complete', allWritten: false, dropReason: 'max-retries' };
    case 'non-retryable':
      // The 400 is for one poison sample: split, only it is refused. A 413 is for the request.
      if (c.policy.onNonRetryable === 'fail') {
        return { end: 'error', status: c.fault.status, dropReason: 'non-retryable', ...(c.fault.make === 'poison' ? { droppedByReason: 1 } : {}) };
      }
      return { end: 'complete', allWritten: false, dropReason: 'non-retryable', ...(c.fault.make === 'poison' ? { droppedSamples: 1 } : {}) };
    case 'fatal':
      return { end: 'error', status: c.fault.status, dropReason: 'fatal' };
    case 'redirect-followed':
      return { end: 'complete', allWritten: true };
    case 'redirect-other':
      return { end: 'error', status: c.fault.status, dropReason: undefined };
  }
}

// ---- the workload ---------------------------------------------------------------------------------

const SERIES = 6;
const TICKS = 8;
const TICK_MS = 2;
const POISON_VALUE = -12345.678;
/** The poison sample as it appears in a request: Sample.value's tag, then the double. */
const POISON_BYTES = Buffer.concat([Buffer.from([0x09]), (() => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(POISON_VALUE);
  return b;
})()]);

interface Hooks {
  /** Before tick i's samples are emitted. */
  beforeTick(i: number): void;
  /** After the last tick, before completing (not called when the source stays open). */
  beforeComplete(): void;
}

/**
 * `SERIES` series, one sample each per tick, `TICKS` ticks `TICK_MS` apart (so lanes have
 * requests in flight while the source still emits); completes after the last tick unless
 * `stayOpen`. `poisonTick` replaces series 0's value at that tick by the poison value.
 */
function tickingSource(labels: readonly Labels[], base: number, hooks: Hooks, stayOpen: boolean, poisonTick: number | undefined, emitted: Sample[]): Observable<Sample> {
  return new Observable<Sample>((subscriber) => {
    let tick = 0;
    let timer: NodeJS.Timeout | undefined;
    const step = (): void => {
      if (tick === TICKS) {
        if (stayOpen) return;
        hooks.beforeComplete();
        subscriber.complete();
        return;
      }
      hooks.beforeTick(tick);
      for (let j = 0; j < labels.length && !subscriber.closed; j++) {
        const value = poisonTick === tick && j === 0 ? POISON_VALUE : tick * 100 + j + 0.5;
        const sample: Sample = { labels: labels[j], value, timestamp: base + tick * 1000 };
        emitted.push(sample);
        subscriber.next(sample);
      }
      tick++;
      // The last tick completes in the same task, so its samples are in open batches at completion.
      if (tick === TICKS) step();
      else timer = setTimeout(step, TICK_MS);
    };
    timer = setTimeout(step, 0);
    return () => clearTimeout(timer);
  });
}

function decodeBody(body: Buffer): Array<{ labels: Labels; samples: Array<[number, number]> }> {
  const request = decodeWriteRequest(snappy.uncompress(body));
  return request.timeseries.map((ts) => ({
    labels: Object.fromEntries(ts.labels.map((l) => [l.name, l.value])),
    samples: ts.samples.map((s): [number, number] => [s.timestamp, s.value]),
  }));
}

const sampleKey = (device: string, t: number, v: number): string => `${device}@${t}=${v}`;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

// ---- one combination -----------------------------------------------------------------------------

interface Run {
  readonly outcomes: WriteOutcome[];
  readonly end: { kind: 'complete' } | { kind: 'error'; error: unknown } | { kind: 'unsubscribed' };
  readonly sink: RemoteWriteOperator;
  readonly emitted: Sample[];
  /** Samples of requests the receiver answered 2xx, in the order it answered them, by device. */
  readonly accepted: Map<string, Array<[number, number]>>;
  readonly acceptedCount: number;
  readonly planned: boolean;
}

async function runCombination(c: Combination, proxy: FaultProxy, metric: string, base: number): Promise<Run> {
  const labels: Labels[] = Array.from({ length: SERIES }, (_, j) => ({ __name__: metric, device: `d${j}` }));
  const unsubscribing = c.when === 'during unsubscribe';
  const origin = new URL(proxy.url).origin;
  const sink = remoteWrite({
    url: proxy.url,
    // Unsubscribing at a faulted attempt: one lane, so no other request is on its way to the receiver.
    shards: unsubscribing ? 1 : 2,
    maxSamplesPerRequest: SERIES,
    maxDelayMs: 5,
    timeoutMs: c.fault.timeoutMs,
    retry: { initialDelayMs: 5, maxDelayMs: 20, jitter: 0.2, maxRetryAfterMs: 20, maxRetries: c.persistence === 'once' ? 4 : 1 },
    onMaxRetriesExceeded: c.policy.onMaxRetriesExceeded,
    onNonRetryable: c.policy.onNonRetryable,
    logger: silentLogger,
  });
  const metrics = sink.metrics;
  const emitted: Sample[] = [];
  const outcomes: WriteOutcome[] = [];
  const accepted = new Map<string, Array<[number, number]>>();
  let acceptedCount = 0;
  const acceptedKeys = new Set<string>();
  let subscription: Subscription | undefined;
  let end: Run['end'] | undefined;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const stop = (kind: Run['end']): void => {
    if (end) return;
    end = kind;
    finish();
  };
  const unsubscribe = (): void => {
    if (end) return;
    subscription?.unsubscribe();
    stop({ kind: 'unsubscribed' });
  };

  const armTick = c.when === 'first request' ? 0 : c.when === 'mid-stream' ? TICKS / 2 : c.when === 'during unsubscribe' ? 2 : TICKS - 1;
  const poison = c.fault.make === 'poison';
  const refused = c.fault.make === 'refused';
  const proxyFault = typeof c.fault.make === 'function' ? c.fault.make(origin) : undefined;
  let armed = false;
  let disarmed = false;
  // down() and up() take a moment: one after the other, never overlapping.
  let transition: Promise<void> = Promise.resolve();
  const endpointUp = (): void => {
    transition = transition.then(() => proxy.up());
  };
  const planned = proxyFault !== undefined && c.persistence === 'once';

  // Requests the proxy holds now (received, not yet answered, faulted or given up).
  const seenAtStart = proxy.requests();
  let exchanges = 0;
  const inFlightAtProxy = (): number => proxy.requests() - seenAtStart - exchanges;

  const arm = (): void => {
    if (armed || poison) return;
    armed = true;
    // Requests already being handled still get their answer: cutting one after the receiver
    // stored it would make the sink send it again (at least once), another fault than a refusal.
    if (refused) transition = transition.then(() => proxy.down({ letInFlightFinish: true }));
    else if (proxyFault && c.persistence === 'once') proxy.plan([proxyFault]);
    else if (proxyFault) proxy.respond(() => proxyFault);
  };
  const disarm = (): void => {
    if (disarmed) return;
    disarmed = true;
    if (refused) endpointUp();
    else if (!planned) proxy.respond(poison ? poisonRule : undefined);
  };
  const poisonRule = (body: Buffer): Fault | undefined =>
    snappy.uncompress(body).includes(POISON_BYTES) ? { status: 400, body: 'out of order sample (poison)' } : undefined;
  if (poison) proxy.respond(poisonRule);

  proxy.observe((exchange: ProxyExchange) => {
    exchanges++;
    const series = decodeBody(exchange.body);
    if (!series.every((s) => s.labels['__name__'] === metric)) return; // a late request of an earlier combination
    if (exchange.upstreamStatus !== undefined && exchange.upstreamStatus >= 200 && exchange.upstreamStatus < 300) {
      for (const s of series) {
        const list = accepted.get(s.labels['device']) ?? [];
        for (const sample of s.samples) {
          // A request the receiver stored but whose answer was cut off (endpoint going down) is
          // sent again: at least once, and the same samples are accepted twice.
          const key = sampleKey(s.labels['device'], sample[0], sample[1]);
          if (acceptedKeys.has(key)) continue;
          acceptedKeys.add(key);
          list.push(sample);
          acceptedCount++;
        }
        accepted.set(s.labels['device'], list);
      }
    }
    // Unsubscribe while the faulted attempt is in flight: before the proxy answers it.
    if (unsubscribing && exchange.fault !== undefined && !('delayMs' in exchange.fault)) unsubscribe();
  });

  // Faults that no proxy callback reveals in time are watched from the sink's counters.
  const watch = setInterval(() => {
    if (!armed && !poison) return;
    if (unsubscribing) {
      if (refused && metrics.requestRetries > 0) unsubscribe();
      if (proxyFault && 'delayMs' in proxyFault && proxy.pending() === 0) unsubscribe();
      return;
    }
    if (refused && c.persistence === 'once' && metrics.requestRetries > 0) disarm();
    if (c.persistence === 'until-limit' && metrics.snapshot().samplesDropped['max-retries'] > 0) disarm();
  }, 1);

  const hooks: Hooks = {
    beforeTick: (i) => {
      if (i === armTick && c.when !== 'during completion') arm();
    },
    beforeComplete: () => {
      if (c.when === 'during completion') arm();
    },
  };
  const poisonTick = poison ? armTick : undefined;
  const source = tickingSource(labels, base, hooks, unsubscribing, poisonTick, emitted);
  const guard = setTimeout(() => {
    subscription?.unsubscribe();
    stop({ kind: 'error', error: new Error('the stream did not end within 15 s') });
  }, 15_000);
  try {
    subscription = source.pipe(sink).subscribe({
      next: (outcome) => outcomes.push(outcome),
      error: (error: unknown) => stop({ kind: 'error', error }),
      complete: () => stop({ kind: 'complete' }),
    });
    await finished;
    // A request the sink gave up when the pipeline ended may still be on its way to the receiver
    // (it can even reach the proxy a moment later): read back only once the proxy has seen the
    // end of every request.
    await sleep(end?.kind === 'complete' ? 5 : 30);
    for (let waited = 0; inFlightAtProxy() > 0 && waited < 1500; waited += 5) await sleep(5);
  } finally {
    clearTimeout(guard);
    clearInterval(watch);
    disarm();
    proxy.respond(undefined);
    proxy.observe(undefined);
    await transition;
    await proxy.up();
  }
  return { outcomes, end: end ?? { kind: 'unsubscribed' }, sink, emitted, accepted, acceptedCount, planned };
}

// ---- the checks ----------------------------------------------------------------------------------

const total = (outcomes: readonly WriteOutcome[], type: WriteOutcome['type']): number =>
  outcomes.filter((o) => o.type === type).reduce((n, o) => n + o.samples, 0);

async function check(c: Combination, server: TsdbServer, proxy: FaultProxy, run: Run, metric: string, base: number): Promise<void> {
  const expected = expectationOf(c);
  const m = run.sink.metrics.snapshot();
  const describeRun = (): string =>
    `end=${run.end.kind}${run.end.kind === 'error' ? ` (${String((run.end as { error: unknown }).error)})` : ''}; ` +
    `outcomes=${JSON.stringify(run.outcomes.map((o) => [o.type, o.samples, o.reason ?? '', o.status ?? '', o.responseBody ?? '']))}; ` +
    `metrics in=${m.samplesIn} written=${m.samplesWritten} dropped=${JSON.stringify(m.samplesDropped)} pending=${m.samplesPending}`;

  // The fault happened at all.
  if (run.planned && c.when !== 'during unsubscribe') assert.equal(proxy.pending(), 0, 'the planned fault was met by a request');

  // Accounting.
  assert.equal(m.samplesIn, run.emitted.length, 'every emitted sample entered the sink');
  assert.equal(m.samplesIn, m.samplesWritten + m.samplesDroppedTotal + m.samplesPending, `samplesIn = written + dropped + pending: ${describeRun()}`);
  assert.equal(m.requestsInFlight, 0, 'no request left in flight');
  assert.equal(total(run.outcomes, 'written'), m.samplesWritten, 'written outcomes = the written counter');

  // What the receiver stores is what the outcomes call written. When the pipeline ends first
  // (error, unsubscription), a request it gave up may have been stored all the same: such samples
  // can only be among those accounted as 'aborted' (today still counted as pending).
  const aborted = (m.samplesDropped as Readonly<Record<string, number>>)['aborted'] ?? 0;
  if (run.end.kind === 'complete') {
    assert.equal(run.acceptedCount, m.samplesWritten, `samples in requests answered 2xx = written: ${describeRun()}`);
  } else {
    assert.ok(run.acceptedCount >= m.samplesWritten, `every written sample was answered 2xx: ${run.acceptedCount} < ${describeRun()}`);
    assert.ok(
      run.acceptedCount - m.samplesWritten <= aborted + m.samplesPending,
      `samples stored but not called written (${run.acceptedCount - m.samplesWritten}) are among the aborted ones: ${describeRun()}`,
    );
  }
  await server.flush();
  const stored = await server.readSeries(metric, base - 1000, base + TICKS * 1000);
  const storedKeys: string[] = [];
  for (const s of stored) {
    for (let k = 1; k < s.samples.length; k++) assert.ok(s.samples[k][0] > s.samples[k - 1][0], `stored ${s.labels['device']} in time order, no duplicate`);
    for (const [t, v] of s.samples) storedKeys.push(sampleKey(s.labels['device'], t, v));
  }
  const acceptedKeys: string[] = [];
  for (const [device, samples] of run.accepted) {
    // Per-series order across the requests the receiver accepted.
    for (let k = 1; k < samples.length; k++) assert.ok(samples[k][0] > samples[k - 1][0], `${device} reached the receiver in time order: ${JSON.stringify(samples)}`);
    for (const [t, v] of samples) acceptedKeys.push(sampleKey(device, t, v));
  }
  assert.deepEqual(storedKeys.sort(), acceptedKeys.sort(), `${server.name} stores exactly the accepted samples`);
  const inputKeys = new Set(run.emitted.map((s) => sampleKey(s.labels['device'], s.timestamp, s.value)));
  for (const key of storedKeys) assert.ok(inputKeys.has(key), `stored ${key} was an input sample`);

  // The behaviour the rules give this fault and policy.
  switch (expected.end) {
    case 'unsubscribed':
      assert.equal(run.end.kind, 'unsubscribed', describeRun());
      break;
    case 'complete':
      assert.equal(run.end.kind, 'complete', `the stream completes: ${describeRun()}`);
      if (expected.allWritten) {
        assert.equal(m.samplesWritten, run.emitted.length, `everything written: ${describeRun()}`);
      } else {
        assert.ok(m.samplesDropped[expected.dropReason] > 0, `some samples dropped as ${expected.dropReason}: ${describeRun()}`);
        assert.equal(m.samplesDroppedTotal, m.samplesDropped[expected.dropReason], `no drop for another reason: ${describeRun()}`);
        if (expected.droppedSamples !== undefined) assert.equal(m.samplesDroppedTotal, expected.droppedSamples, `only the offending sample dropped: ${describeRun()}`);
      }
      break;
    case 'error': {
      assert.equal(run.end.kind, 'error', `the stream errors: ${describeRun()}`);
      const error = (run.end as { error: unknown }).error;
      assert.ok(error instanceof RemoteWriteError, `a RemoteWriteError, not ${String(error)}`);
      assert.equal(error.status, expected.status, 'the error carries the status');
      const failed = run.outcomes.find((o) => o.type === 'dropped' && o.samples === error.samples && o.status === error.status && (expected.dropReason === undefined || o.reason === expected.dropReason));
      assert.ok(failed, `an outcome accounts for the failed request before the error: ${describeRun()}`);
      if (expected.droppedByReason !== undefined && expected.dropReason !== undefined) {
        assert.equal(m.samplesDropped[expected.dropReason], expected.droppedByReason, `only the offending sample refused: ${describeRun()}`);
      }
      break;
    }
  }

  // Nothing left unaccounted for when the pipeline ended (last: the other checks say more first).
  assert.equal(m.samplesPending, 0, `nothing pending at the end: ${describeRun()}`);
  if (run.end.kind !== 'unsubscribed') {
    assert.equal(total(run.outcomes, 'written') + total(run.outcomes, 'dropped'), run.emitted.length, `every input sample in exactly one outcome: ${describeRun()}`);
  }
}

// ---- the suites ----------------------------------------------------------------------------------

const COMBINATIONS = combinations();
console.log(`fault matrix: ${COMBINATIONS.length} combinations per server, ${COMBINATIONS.length * 2} in all`);

describe(`fault matrix combinations (${COMBINATIONS.length} per server)`, () => {
  it('covers every fault at every moment, each policy where it applies, under distinct names', () => {
    assert.ok(COMBINATIONS.length >= 40);
    assert.equal(new Set(COMBINATIONS.map((c) => c.name)).size, COMBINATIONS.length, 'names are unique');
    for (const fault of FAULTS) {
      for (const when of WHENS) assert.ok(COMBINATIONS.some((c) => c.fault === fault && c.when === when), `${fault.name}, ${when}`);
    }
    for (const onMaxRetriesExceeded of ['fail', 'discard'] as const) {
      assert.ok(COMBINATIONS.some((c) => c.persistence === 'until-limit' && c.when !== 'during unsubscribe' && c.policy.onMaxRetriesExceeded === onMaxRetriesExceeded));
    }
    for (const onNonRetryable of ['fail', 'discard'] as const) {
      assert.ok(COMBINATIONS.some((c) => c.fault.class === 'non-retryable' && c.when !== 'during unsubscribe' && c.policy.onNonRetryable === onNonRetryable));
    }
  });
});

for (const [label, binary, start] of [
  ['Prometheus', 'prometheus', () => startPrometheus()],
  ['VictoriaMetrics', 'victoriametrics', startVictoriaMetrics],
] as const) {
  describe(`fault matrix into ${label} (${COMBINATIONS.length} combinations)`, { skip: unavailable(binary) }, () => {
    let server: TsdbServer;
    let proxy: FaultProxy;
    before(async () => {
      server = await start();
      proxy = await startFaultProxy(server.writeUrl);
    });
    after(async () => {
      await proxy?.stop();
      await server?.stop();
    });

    COMBINATIONS.forEach((c, index) => {
      it(`#${index + 1} ${c.name}`, { timeout: 30_000 }, async () => {
        const metric = `rxprom_fault_matrix_${index + 1}`;
        const base = Math.floor(Date.now() / 1000) * 1000 - 60_000 - TICKS * 1000;
        try {
          const run = await runCombination(c, proxy, metric, base);
          await check(c, server, proxy, run, metric, base);
        } finally {
          // A fault left queued (a failed combination) must not leak into the next one.
          if (proxy.pending() > 0) {
            await proxy.stop();
            proxy = await startFaultProxy(server.writeUrl);
          }
        }
      });
    });
  });
}
