import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { checkFault, checkFaults, FaultPlan, serveFault, type Fault } from '../../src/testing/faults.js';
import { startReceiver, type Receiver } from '../../src/testing/receiver/server.js';
import { ConfigError } from '../../src/core/errors.js';
import { encodeWriteRequestReference } from '../../src/protocol/reference.js';
import { snappyCompress } from '../../src/protocol/snappy.js';
import { startFaultProxy } from '../harness/fault-proxy.js';

const optionOf = (run: () => unknown): string => {
  try {
    run();
    return 'none';
  } catch (error) {
    assert.ok(error instanceof ConfigError, `not a ConfigError: ${String(error)}`);
    return error.option;
  }
};

type Answer = { status: number; text: string; headers: http.IncomingHttpHeaders };
const post = (url: string, payload: Uint8Array, timeoutMs = 10_000): Promise<Answer> =>
  new Promise((resolve, reject) => {
    const request = http.request(url, { method: 'POST', agent: false, timeout: timeoutMs, headers: { 'Content-Length': String(payload.length) } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8'), headers: response.headers }));
      response.on('error', reject);
    });
    request.on('timeout', () => request.destroy(new Error('client timeout')));
    request.on('error', reject);
    request.end(payload);
  });
const T = 1_700_000_000_000;
const body = (timestamp: number): Buffer =>
  Buffer.from(snappyCompress(Buffer.from(encodeWriteRequestReference({ timeseries: [{ labels: [{ name: '__name__', value: 'f' }], samples: [{ timestamp, value: 1 }] }] }))));

describe('checkFault', () => {
  it('accepts the four shapes, 3xx with Location and 413 included', () => {
    const faults: Fault[] = [
      { status: 307, headers: { Location: 'http://127.0.0.1:1/elsewhere' } },
      { status: 413, body: 'too large' },
      { status: 429, headers: { 'Retry-After': '2' } },
      { delayMs: 0 },
      { reset: true },
      { hang: true },
    ];
    assert.deepEqual(checkFaults(faults), faults);
  });

  it('refuses anything else with a ConfigError naming the option', () => {
    const cases: Array<[unknown, string]> = [
      [{ status: 99 }, 'f.status'],
      [{ status: 600 }, 'f.status'],
      [{ status: 200.5 }, 'f.status'],
      [{ status: 500, body: 42 }, 'f.body'],
      [{ status: 429, headers: { 'Retry-After': '1\r\nX: y' } }, 'f.headers'],
      [{ status: 429, headers: { 'bad name': '1' } }, 'f.headers'],
      [{ status: 429, headers: ['x'] }, 'f.headers'],
      [{ delayMs: -1 }, 'f.delayMs'],
      [{ delayMs: 2 ** 31 }, 'f.delayMs'],
      [{ reset: false }, 'f.reset'],
      [{ hang: 'yes' }, 'f.hang'],
      [{ status: 500, hang: true }, 'f'],
      [{ nothing: true }, 'f'],
      [null, 'f'],
      ['reset', 'f'],
    ];
    for (const [fault, option] of cases) assert.equal(optionOf(() => checkFault(fault, 'f')), option, JSON.stringify(fault));
    assert.equal(optionOf(() => checkFaults({ status: 500 })), 'faults');
    assert.equal(optionOf(() => checkFaults([{ reset: true }, { status: 1 }])), 'faults[1].status');
  });
});

describe('FaultPlan', () => {
  it('hands out queued faults in order, one per request, then none', () => {
    const plan = new FaultPlan();
    plan.add([{ status: 503 }, { reset: true }]);
    plan.add([{ hang: true }]);
    assert.equal(plan.pending, 3);
    assert.deepEqual([plan.next(), plan.next(), plan.next(), plan.next()], [{ status: 503 }, { reset: true }, { hang: true }, undefined]);
    assert.equal(plan.injected, 3);
  });

  it('a bad fault in a list queues none of it', () => {
    const plan = new FaultPlan();
    assert.throws(() => plan.add([{ status: 503 }, { delayMs: -5 }]), ConfigError);
    assert.equal(plan.pending, 0);
  });

  it('after the queue, draws random faults at the rate, reproducibly by seed; clear() stops everything', () => {
    const draw = (seed: number): Array<Fault | undefined> => {
      const plan = new FaultPlan();
      plan.add([{ hang: true }]);
      plan.setRandom({ rate: 0.25, faults: [{ status: 500 }, { status: 429 }], seed });
      return Array.from({ length: 1001 }, () => plan.next());
    };
    const first = draw(7);
    assert.deepEqual(first[0], { hang: true }, 'the queue comes first');
    const faulted = first.slice(1).filter((f) => f !== undefined);
    assert.ok(faulted.length > 180 && faulted.length < 320, `${faulted.length} of 1000 at rate 0.25`);
    assert.ok(faulted.some((f) => f !== undefined && 'status' in f && f.status === 500) && faulted.some((f) => f !== undefined && 'status' in f && f.status === 429));
    assert.deepEqual(draw(7), first, 'same seed, same faults');
    assert.notDeepEqual(draw(8), first);
    const plan = new FaultPlan();
    plan.setRandom({ rate: 1, faults: [{ reset: true }] });
    plan.add([{ status: 500 }]);
    plan.clear();
    assert.deepEqual([plan.next(), plan.pending, plan.injected], [undefined, 0, 0]);
    assert.equal(optionOf(() => plan.setRandom({ rate: 2, faults: [{ reset: true }] })), 'rate');
    assert.equal(optionOf(() => plan.setRandom({ rate: 0.5, faults: [] })), 'faults');
    assert.equal(optionOf(() => plan.setRandom({ rate: 0.5, faults: [{ status: 5 }] })), 'faults[0].status');
  });
});

describe('serveFault', () => {
  const plan = new FaultPlan();
  const timers = new Set<NodeJS.Timeout>();
  let handled = 0;
  /** Delay timers pending right after each faulted request was served. */
  const timersAfterServe: number[] = [];
  let url = '';
  const server = http.createServer((req, res) => {
    const proceed = (): void => {
      req.resume();
      req.on('end', () => {
        handled++;
        res.writeHead(204).end();
      });
    };
    const fault = plan.next();
    if (fault === undefined) proceed();
    else {
      serveFault(fault, req, res, proceed, timers);
      timersAfterServe.push(timers.size);
    }
  });
  before(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('answers a status with its headers and body instead of the handler', async () => {
    plan.add([{ status: 307, headers: { Location: 'http://127.0.0.1:9/moved' } }, { status: 413, body: 'body too large' }]);
    const moved = await post(url, Buffer.alloc(100));
    assert.deepEqual([moved.status, moved.headers.location], [307, 'http://127.0.0.1:9/moved']);
    const large = await post(url, Buffer.alloc(100_000));
    assert.deepEqual([large.status, large.text, large.headers['content-type']], [413, 'body too large', 'text/plain; charset=utf-8']);
    assert.equal(handled, 0);
  });

  it('delays, then hands the request to the handler; the timer is in the set until it fires', async () => {
    plan.add([{ delayMs: 60 }]);
    timersAfterServe.length = 0;
    const startedAt = Date.now();
    assert.equal((await post(url, Buffer.alloc(10))).status, 204);
    assert.ok(Date.now() - startedAt >= 55, 'delayed');
    assert.deepEqual([timersAfterServe, handled, timers.size], [[1], 1, 0]);
  });

  it('resets the connection, or never answers', async () => {
    plan.add([{ reset: true }, { hang: true }]);
    await assert.rejects(post(url, Buffer.alloc(10)), /socket hang up|ECONNRESET/);
    await assert.rejects(post(url, Buffer.alloc(10), 150), /client timeout/);
    assert.equal((await post(url, Buffer.alloc(10))).status, 204, 'normal again after the plan');
    assert.equal(handled, 2);
  });
});

describe('the harness fault proxy speaks the same vocabulary', () => {
  let receiver: Receiver;
  before(async () => {
    receiver = await startReceiver();
  });
  after(() => receiver.close());

  it('serves planned faults in front of a real receiver and forwards the rest; down() and up() keep the port', async () => {
    const proxy = await startFaultProxy(receiver.url);
    try {
      assert.equal(optionOf(() => proxy.plan([{ status: 700 }])), 'faults[0].status');
      proxy.plan([{ status: 308, headers: { Location: receiver.url } }, { status: 413 }, { delayMs: 30 }, { reset: true }]);
      const moved = await post(proxy.url, body(T));
      assert.deepEqual([moved.status, moved.headers.location], [308, receiver.url]);
      assert.equal((await post(proxy.url, body(T))).status, 413);
      assert.equal((await post(proxy.url, body(T))).status, 204, 'delayed, then forwarded');
      await assert.rejects(post(proxy.url, body(T + 1)), /socket hang up|ECONNRESET/);
      assert.equal((await post(proxy.url, body(T + 1))).status, 204);
      assert.deepEqual(receiver.series({ __name__: 'f' })[0].samples, [[T, 1], [T + 1, 1]], 'only forwarded requests reached the receiver');
      assert.deepEqual([proxy.pending(), proxy.requests()], [0, 5]);
      proxy.randomFaults({ rate: 1, faults: [{ status: 503 }] });
      assert.equal((await post(proxy.url, body(T + 2))).status, 503);
      proxy.randomFaults(undefined);
      await proxy.down();
      await assert.rejects(post(proxy.url, body(T + 2)), /ECONNREFUSED/);
      await proxy.up();
      assert.equal((await post(proxy.url, body(T + 2))).status, 204);
      assert.equal(receiver.samplesStored(), 3);
    } finally {
      await proxy.stop();
    }
  });
});
