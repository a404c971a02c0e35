// rxprom/testing: tooling for tests, demos and load tests, kept out of the product's entry point.
// `import { startReceiver, generateSamples } from 'rxprom/testing'`.

// Embedded receiver (demo, your own tests, fault injection)
export {
  startReceiver,
  type Receiver,
  type ReceiverOptions,
  type ReceiverFault,
  type ReceivedSeries,
  type ReceiverMode,
  type ReceiverStats,
  type RefusalReason,
  type SeriesMatcher,
} from './receiver/server.js';

// Faults: one vocabulary for the receiver and for a fault-injecting proxy of your own
export {
  checkFault,
  checkFaults,
  FaultPlan,
  serveFault,
  type Fault,
  type StatusFault,
  type DelayFault,
  type ResetFault,
  type HangFault,
  type RandomFaults,
} from './faults.js';

// Load generator with error injection, and its command line (`rxprom-generate`)
export {
  generateSamples,
  checkAccounting,
  expectedAccounting,
  MALFORMED_KINDS,
  type GeneratorOptions,
  type GeneratorReport,
  type GeneratedSamples,
  type MalformedKind,
  type AccountingSnapshot,
} from './generator/generator.js';
export { runGenerateCli, type GenerateCliIo } from './generator/cli.js';
export { seededRandom } from './random.js';

// Reading back what a sender wrote, in a receiver of your own
export { decodeWriteRequest, type DecodedWriteRequest, type DecodedTimeSeries, type DecodedLabel, type DecodedSample } from '../protocol/reference.js';
