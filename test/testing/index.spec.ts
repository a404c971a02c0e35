import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as main from '../../src/index.js';
import * as testing from '../../src/testing/index.js';
import type {
  AccountingSnapshot,
  DecodedWriteRequest,
  DelayFault,
  Fault,
  GenerateCliIo,
  GeneratedSamples,
  GeneratorOptions,
  GeneratorReport,
  HangFault,
  MalformedKind,
  RandomFaults,
  ReceivedSeries,
  Receiver,
  ReceiverFault,
  ReceiverMode,
  ReceiverOptions,
  ReceiverStats,
  RefusalReason,
  ResetFault,
  SeriesMatcher,
  StatusFault,
} from '../../src/testing/index.js';

// Compiled, this spec is dist/test/testing/index.spec.js.
const dist = fileURLToPath(new URL('../../', import.meta.url));

describe('rxprom/testing', () => {
  it('exports the receiver, the faults, the generator and its CLI, the accounting check, the PRNG and the request decoder', () => {
    assert.deepEqual(Object.keys(testing).sort(), [
      'FaultPlan',
      'MALFORMED_KINDS',
      'checkAccounting',
      'checkFault',
      'checkFaults',
      'decodeWriteRequest',
      'expectedAccounting',
      'generateSamples',
      'runGenerateCli',
      'seededRandom',
      'serveFault',
      'startReceiver',
    ]);
  });

  it('exports the types a user writes down (checked by the compiler)', () => {
    const faults: Fault[] = [
      { status: 307, headers: { Location: 'http://127.0.0.1:1/' } } satisfies StatusFault,
      { delayMs: 5 } satisfies DelayFault,
      { reset: true } satisfies ResetFault,
      { hang: true } satisfies HangFault,
    ];
    const legacy: ReceiverFault[] = faults;
    const random: RandomFaults = { rate: 0.5, faults: legacy };
    const options: ReceiverOptions = { mode: 'lenient' satisfies ReceiverMode, maxSamples: 10 };
    const generator: GeneratorOptions = { series: 2, count: 4 };
    const io: GenerateCliIo = { out: () => {} };
    const reason: RefusalReason = 'out-of-order';
    const match: SeriesMatcher = { __name__: 'm' };
    const kind: MalformedKind = 'missing-name';
    type Used = [Receiver, ReceiverStats, ReceivedSeries, GeneratedSamples, GeneratorReport, AccountingSnapshot, DecodedWriteRequest];
    const used: Array<Used | undefined> = [undefined];
    assert.equal(testing.checkFaults(random.faults).length, 4);
    assert.deepEqual([options.mode, generator.count, typeof io.out, reason, match.__name__, kind, used.length], ['lenient', 4, 'function', 'out-of-order', 'm', 'missing-name', 1]);
  });

  it('nothing of it is exported from rxprom itself (the request decoder is a protocol helper of both)', () => {
    const shared = Object.keys(testing).filter((name) => name in main);
    assert.deepEqual(shared, ['decodeWriteRequest']);
    assert.doesNotMatch(readFileSync(`${dist}src/index.js`, 'utf8'), /from '\.\/testing\//);
  });
});
