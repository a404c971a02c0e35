// rxprom public API: everything a user imports comes from here.

// Data model
export type { Labels, Sample, WriteOutcome, DropReason } from './model.js';
export { sample, STALE_NAN, DROP_REASONS } from './model.js';

// The sink and its building blocks
export { remoteWrite, type RemoteWriteOperator } from '../operators/remote-write.js';
export type { RemoteWriteOptions } from './remote-write-options.js';
export { partitionBySeries, sampleSeriesKey, type PartitionBySeriesOptions } from '../operators/partition-by-series.js';
export { batchSamples, type BatchSamplesOptions } from '../operators/batch-samples.js';
export { RemoteWriteMetrics, type RemoteWriteMetricsSnapshot } from './metrics.js';
export { RetryPolicy, parseRetryAfter, type RetryOptions } from './retry.js';
export { classifyStatus, type ResponseClass } from './classify.js';
export { basicAuthSigner, bearerTokenSigner, composeSigners, type RequestSigner, type SignableRequest } from './signer.js';
export { checkLabels, type ValidationMode, type CanonicalLabels, type LabelCheck } from './labels.js';
export { ConfigError, RemoteWriteError } from './errors.js';
export { consoleLogger, silentLogger, type Logger, type LogMethod } from './logger.js';

// Stream operators
export { reorderByWatermark, type ReorderByWatermarkOptions, type ReorderByWatermarkOperator, type ReorderStats } from '../operators/reorder-by-watermark.js';
export {
  tumblingWindow,
  type Aggregation,
  type WindowDropReason,
  type TumblingWindowOptions,
  type TumblingWindowAccessors,
  type TumblingWindowOperator,
  type TumblingWindowStats,
} from '../operators/tumbling-window.js';
export {
  enrich,
  type EnrichOptions,
  type EnrichKeepOptions,
  type EnrichCommonOptions,
  type EnrichMissingPolicy,
  type EnrichReference,
  type EnrichDropReason,
  type EnrichOperator,
  type EnrichStats,
} from '../operators/enrich.js';
export { dropOutliers, OUTLIER_REASONS, type DropOutliersOptions, type OutlierReason, type OutlierStats, type DropOutliersOperator } from '../operators/drop-outliers.js';

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
} from './receiver.js';

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
} from './generator.js';
export { runGenerateCli } from './generate-cli.js';
export { seededRandom } from './random.js';

// Protocol helpers (decode requests, e.g. in your own tests)
export { decodeWriteRequest, encodeWriteRequestReference } from './proto.js';
export type { DecodedWriteRequest, DecodedTimeSeries, DecodedLabel, DecodedSample } from './proto.js';
export { snappyCompress, snappyFrameLiteral, snappyUncompress, snappyBlockProblem, type Compression } from './snappy.js';
