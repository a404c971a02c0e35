// rxprom/testing: tooling for tests, demos and load tests, kept out of the product's entry point.
// `import { startReceiver, generateSamples } from 'rxprom/testing'`.

// Embedded receiver (demo, your own tests, fault injection)
export {
  startReceiver,
  type Receiver,
  type ReceiverOptions,
  type ReceiverFault,
  type RandomFaults,
  type ReceivedSeries,
  type ReceiverStats,
  type RefusalReason,
  type SeriesMatcher,
} from './receiver/server.js';

// Load generator with error injection
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
export { runGenerateCli } from './generator/cli.js';
export { seededRandom } from './random.js';
