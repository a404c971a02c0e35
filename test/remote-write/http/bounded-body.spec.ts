import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough, Readable } from 'node:stream';
import { readBoundedBody } from '../../../src/remote-write/http/bounded-body.js';

const bounds = { maxBytes: 1000, keepChars: 10, timeoutMs: 5000 };

describe('readBoundedBody', () => {
  it('drains a body within the bound and keeps it whole when short', async () => {
    const stream = Readable.from([Buffer.from('out of '), Buffer.from('order')]);
    assert.deepEqual(await readBoundedBody(stream, { ...bounds, keepChars: 100 }), { text: 'out of order', bytesRead: 12, complete: true });
  });

  it('keeps keepChars characters of a longer body, marked with ...', async () => {
    const result = await readBoundedBody(Readable.from([Buffer.from('a'.repeat(900))]), bounds);
    assert.deepEqual(result, { text: `${'a'.repeat(10)}...`, bytesRead: 900, complete: true });
  });

  it('counts characters, not bytes', async () => {
    const result = await readBoundedBody(Readable.from([Buffer.from('ü€😀'.repeat(5))]), bounds);
    assert.equal(result.text, `${'ü€😀'.repeat(5).slice(0, 10)}...`);
    assert.equal(result.complete, true);
  });

  it('stops at maxBytes: destroys the stream and reads no further', async () => {
    let produced = 0;
    const endless = new Readable({
      read() {
        produced += 100;
        this.push(Buffer.alloc(100, 'z'));
      },
    });
    const result = await readBoundedBody(endless, bounds);
    assert.equal(result.complete, false);
    assert.equal(result.text, `${'z'.repeat(10)}...`);
    assert.equal(result.bytesRead, 1100, 'the bound plus the chunk that crossed it');
    assert.equal(endless.destroyed, true);
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(produced <= 1100 + 16 * 1024, `produced ${produced}`);
  });

  it('gives up on a body that stalls beyond timeoutMs, keeping what came', async () => {
    const stalled = new PassThrough();
    stalled.write('partial');
    const result = await readBoundedBody(stalled, { ...bounds, timeoutMs: 30 });
    assert.deepEqual(result, { text: 'partial...', bytesRead: 7, complete: false });
    assert.equal(stalled.destroyed, true);
  });

  it('a stream that fails midway resolves with what came, and never throws', async () => {
    const failing = new PassThrough();
    const reading = readBoundedBody(failing, bounds);
    failing.write('half');
    setImmediate(() => failing.destroy(new Error('socket hang up')));
    assert.deepEqual(await reading, { text: 'half...', bytesRead: 4, complete: false });
  });
});
