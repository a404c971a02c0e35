import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { consoleLogger, silentLogger } from '../../src/core/logger.js';

describe('loggers', () => {
  it('consoleLogger writes "rxprom: message" with its fields, at the console method of the level, and has no debug', (t) => {
    const calls: unknown[][] = [];
    for (const level of ['info', 'warn', 'error'] as const) t.mock.method(console, level, (...args: unknown[]) => void calls.push([level, ...args]));
    consoleLogger.info({ a: 1 }, 'hello');
    consoleLogger.warn({ b: 2 }, 'careful');
    consoleLogger.error({ c: 3 }, 'broken');
    assert.deepEqual(calls, [
      ['info', 'rxprom: hello', { a: 1 }],
      ['warn', 'rxprom: careful', { b: 2 }],
      ['error', 'rxprom: broken', { c: 3 }],
    ]);
    assert.equal(consoleLogger.debug, undefined);
  });

  it('silentLogger says nothing at any level', (t) => {
    const calls: unknown[] = [];
    for (const level of ['info', 'warn', 'error', 'debug', 'log'] as const) t.mock.method(console, level, () => void calls.push(level));
    for (const level of ['debug', 'info', 'warn', 'error'] as const) silentLogger[level]?.({}, 'x');
    assert.deepEqual(calls, []);
  });
});
