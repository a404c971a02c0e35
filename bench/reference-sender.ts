/**
 * The benchmarks' reference sender: how many samples/s a receiver accepts from a client that costs
 * almost nothing, the ceiling rxprom is compared with. It depends on nothing of rxprom (a bug in
 * the library's encoder cannot flatter or hurt the reference) and only on Node's built-ins.
 *
 * What makes it cheap: every series' TimeSeries frame is built once before the clock starts, up to
 * the sample's value and timestamp; a pass over a lane's series shares one timestamp, whose varint
 * is built once per pass. A request is then a copy of the frame, 8 bytes of value and the
 * timestamp's bytes per sample, wrapped in a literal-only snappy block (valid snappy, no
 * compression work). Each lane owns the series i ≡ lane (mod lanes), sends them in time order, one
 * request at a time, over its own keep-alive connection.
 *
 * Workload (the same as `workload.ts`): series i has `__name__="raw_sender_metric"`, `l1="s<i>"`
 * and `l<k>="v<i % (10k)>"` for k = 2..labels-1; timestamps start an hour ago and move on by one
 * second per pass over the lane's series.
 *
 *   node dist/bench/reference-sender.js --url URL [--series 10000] [--batch 2000] [--lanes 4]
 *     [--seconds 10] [--labels 4]
 *
 * Prints one JSON line: tool, url, series, batch, lanes, seconds, samples (accepted with a 2xx),
 * samplesPerSec, requests, errors, lastError.
 */
import http from 'node:http';
import { parseArgs } from 'node:util';
import { WORKLOAD_METRIC } from './workload.js';

const { values: o } = parseArgs({
  options: {
    url: { type: 'string' },
    series: { type: 'string', default: '10000' },
    batch: { type: 'string', default: '2000' },
    lanes: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '10' },
    labels: { type: 'string', default: '4' },
  },
});

function positive(name: string, text: string | undefined): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value < 1) {
    console.error(`reference-sender: --${name} must be a positive integer (got ${text})`);
    process.exit(2);
  }
  return value;
}

if (!o.url) {
  console.error('usage: reference-sender --url URL [--series N] [--batch N] [--lanes N] [--seconds S] [--labels N]');
  process.exit(2);
}
const target = new URL(o.url);
const SERIES = positive('series', o.series);
const BATCH = positive('batch', o.batch);
const LANES = Math.min(positive('lanes', o.lanes), SERIES);
const SECONDS = Number(o.seconds);
const LABELS = positive('labels', o.labels);

/** Bytes of the base-128 varint of a non-negative integer (up to 2^53). */
function varintSize(value: number): number {
  let size = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) size++;
  return size;
}

/** Writes the varint of `value` at `at`; returns the offset after it. */
function putVarint(target: Buffer, at: number, value: number): number {
  let rest = value;
  while (rest >= 0x80) {
    target[at++] = (rest % 0x80) | 0x80;
    rest = Math.floor(rest / 0x80);
  }
  target[at++] = rest;
  return at;
}

/** A length-delimited protobuf field: tag byte, length, bytes. */
function lengthDelimited(tag: number, bytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(1 + varintSize(bytes.length) + bytes.length);
  out[0] = tag;
  bytes.copy(out, putVarint(out, 1, bytes.length));
  return out;
}

// Field tags (field number << 3 | wire type 2 or 1).
const TIMESERIES = 0x0a; // WriteRequest.timeseries = 1
const LABEL = 0x0a; // TimeSeries.labels = 1
const SAMPLE = 0x12; // TimeSeries.samples = 2
const NAME = 0x0a; // Label.name = 1
const VALUE_TEXT = 0x12; // Label.value = 2
const VALUE = 0x09; // Sample.value = 1, fixed64
const TIMESTAMP = 0x10; // Sample.timestamp = 2, varint

function encodeLabel(name: string, value: string): Buffer {
  return lengthDelimited(LABEL, Buffer.concat([lengthDelimited(NAME, Buffer.from(name)), lengthDelimited(VALUE_TEXT, Buffer.from(value))]));
}

// Timestamps stay within one varint size for the run (ms since the epoch: 6 bytes until 2109).
const startMs = Date.now() - 3_600_000;
const TIMESTAMP_SIZE = varintSize(startMs);
const SAMPLE_SIZE = 1 + 8 + 1 + TIMESTAMP_SIZE;

/**
 * Series i's frame up to its value: the TimeSeries tag and length, the labels (sorted by name),
 * the Sample tag and length and the value's tag. The value and `TIMESTAMP` + timestamp follow.
 */
function frameHead(i: number): Buffer {
  const labels = [encodeLabel('__name__', WORKLOAD_METRIC), encodeLabel('l1', `s${i}`)];
  for (let k = 2; k < LABELS; k++) labels.push(encodeLabel(`l${k}`, `v${i % (10 * k)}`));
  const labelBytes = Buffer.concat(labels);
  const seriesLength = labelBytes.length + 1 + varintSize(SAMPLE_SIZE) + SAMPLE_SIZE;
  const head = Buffer.allocUnsafe(1 + varintSize(seriesLength) + labelBytes.length + 1 + varintSize(SAMPLE_SIZE) + 1);
  head[0] = TIMESERIES;
  let p = putVarint(head, 1, seriesLength);
  p += labelBytes.copy(head, p);
  head[p++] = SAMPLE;
  p = putVarint(head, p, SAMPLE_SIZE);
  head[p++] = VALUE;
  return head;
}

/** Literal-only snappy block header for `length` bytes: the uncompressed length, then one literal tag with a 4-byte length. */
function literalHeader(length: number): Buffer {
  const header = Buffer.allocUnsafe(varintSize(length) + 5);
  const p = putVarint(header, 0, length);
  header[p] = 63 << 2; // literal, length-1 in the next 4 bytes
  header.writeUInt32LE(length - 1, p + 1);
  return header;
}

interface LaneRun {
  samples: number;
  requests: number;
  errors: number;
  lastError: string;
}

/** One lane: its series' frames, a reused body buffer, one keep-alive connection. */
function lane(index: number, heads: readonly Buffer[], deadline: number): Promise<LaneRun> {
  const own: Buffer[] = [];
  for (let i = index; i < SERIES; i += LANES) own.push(heads[i]);
  let longest = 0;
  for (const head of own) longest = Math.max(longest, head.length);
  // Room for the snappy header in front, so a body is one buffer with no copy after filling.
  const room = varintSize(BATCH * (longest + 9 + TIMESTAMP_SIZE)) + 5;
  const body = Buffer.allocUnsafe(room + BATCH * (longest + 9 + TIMESTAMP_SIZE));
  const timestamp = Buffer.allocUnsafe(1 + TIMESTAMP_SIZE);
  timestamp[0] = TIMESTAMP;
  let t = startMs;
  putVarint(timestamp, 1, t);
  let cursor = 0;
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const run: LaneRun = { samples: 0, requests: 0, errors: 0, lastError: '' };

  const fill = (): Buffer => {
    let p = room;
    for (let k = 0; k < BATCH; k++) {
      p += own[cursor].copy(body, p);
      body.writeDoubleLE(Math.random(), p);
      p += 8;
      p += timestamp.copy(body, p);
      if (++cursor === own.length) {
        cursor = 0;
        t += 1000;
        putVarint(timestamp, 1, t);
      }
    }
    const header = literalHeader(p - room);
    header.copy(body, room - header.length);
    return body.subarray(room - header.length, p);
  };

  const post = (payload: Buffer): Promise<{ status: number; text: string }> =>
    new Promise((resolve, reject) => {
      const request = http.request(
        {
          host: target.hostname,
          port: target.port,
          path: target.pathname + target.search,
          method: 'POST',
          agent,
          headers: {
            'Content-Type': 'application/x-protobuf',
            'Content-Encoding': 'snappy',
            'X-Prometheus-Remote-Write-Version': '0.1.0',
            'User-Agent': 'rxprom-reference-sender',
            'Content-Length': payload.length,
          },
        },
        (response) => {
          let text = '';
          response.setEncoding('utf8');
          response.on('data', (chunk: string) => (text += chunk));
          response.on('end', () => resolve({ status: response.statusCode ?? 0, text }));
        },
      );
      request.on('error', reject);
      request.end(payload);
    });

  return (async () => {
    try {
      while (Date.now() < deadline) {
        const { status, text } = await post(fill());
        run.requests++;
        if (status >= 200 && status < 300) run.samples += BATCH;
        else {
          run.errors++;
          run.lastError = `${status} ${text.trim().slice(0, 160)}`;
        }
      }
    } finally {
      agent.destroy();
    }
    return run;
  })();
}

// Frames are built before the clock starts, as a pipeline's interned label sets would be.
const heads: Buffer[] = new Array<Buffer>(SERIES);
for (let i = 0; i < SERIES; i++) heads[i] = frameHead(i);

const started = Date.now();
const runs = await Promise.all(Array.from({ length: LANES }, (_, index) => lane(index, heads, started + SECONDS * 1000)));
const seconds = (Date.now() - started) / 1000;
const total = runs.reduce((sum, r) => ({ samples: sum.samples + r.samples, requests: sum.requests + r.requests, errors: sum.errors + r.errors }), { samples: 0, requests: 0, errors: 0 });
console.log(
  JSON.stringify({
    tool: 'reference-sender',
    url: o.url,
    series: SERIES,
    batch: BATCH,
    lanes: LANES,
    seconds,
    samples: total.samples,
    samplesPerSec: Math.round(total.samples / seconds),
    requests: total.requests,
    errors: total.errors,
    lastError: runs.map((r) => r.lastError).find((e) => e !== '') ?? '',
  }),
);
