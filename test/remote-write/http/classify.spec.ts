import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { classifyStatus } from '../../../src/remote-write/http/classify.js';

describe('classifyStatus', () => {
  it('follows the spec and the Flink connector', () => {
    const table: Array<[number, string]> = [
      [200, 'written'], [204, 'written'], [299, 'written'],
      [429, 'retryable'], [500, 'retryable'], [503, 'retryable'], [599, 'retryable'],
      [401, 'fatal'], [403, 'fatal'], [404, 'fatal'],
      [400, 'non-retryable'], [409, 'non-retryable'], [413, 'non-retryable'], [422, 'non-retryable'],
    ];
    for (const [status, expected] of table) assert.equal(classifyStatus(status), expected, `status ${status}`);
  });

  it('a redirect that reaches the sink is fatal, never dropped quietly', () => {
    // Was 'non-retryable' (discarded with a WARN per request): a redirect is a wrong URL, not a bad request.
    for (const status of [300, 301, 302, 303, 304, 307, 308]) assert.equal(classifyStatus(status), 'fatal', `status ${status}`);
  });
});
