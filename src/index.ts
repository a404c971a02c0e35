// rxprom public API: everything a user imports comes from here. Test tooling (the embedded
// receiver, the load generator) is in `rxprom/testing` (src/testing/index.ts).

// Data model
export type { Labels, Sample, WriteOutcome, DropReason } from './core/model.js';
export { sample, STALE_NAN, DROP_REASONS, NOT_LOST_REASONS } from './core/model.js';

// The sink and its building blocks
export { remoteWrite, type RemoteWriteOperator } from '../operators/remote-write.js';
export type { RemoteWriteOptions, RemoteWriteSpoolOptions, BackpressureOptions, ShardRange } from './remote-write/options.js';
export type { RemoteWriteState } from './remote-write/sink-state.js';
export { partitionBySeries, type PartitionBySeriesOptions } from '../operators/partition-by-series.js';
export { sampleSeriesKey } from './core/series-key.js';
export { batchSamples, type BatchSamplesOptions } from '../operators/batch-samples.js';
export { RemoteWriteMetrics, type RemoteWriteMetricsSnapshot, type BatchMetrics } from './remote-write/metrics.js';
export { RetryPolicy, parseRetryAfter, type RetryOptions } from './remote-write/http/retry-policy.js';
export type { WriteClient, WriteResult, WriteAbortSignal } from './remote-write/http/write-client.js';
export { AxiosWriteClient, type AxiosWriteClientOptions, type RetryEvent } from './remote-write/http/axios-client.js';
export { classifyStatus, type ResponseClass } from './remote-write/http/classify.js';
export { basicAuthSigner, bearerTokenSigner, composeSigners, type RequestSigner, type SignableRequest } from './remote-write/http/signers.js';
export { checkLabels, type ValidationMode, type CanonicalLabels, type LabelCheck } from './protocol/label-rules.js';
export { ConfigError, RemoteWriteError } from './core/errors.js';
export { consoleLogger, silentLogger, type Logger, type LogMethod } from './core/logger.js';

// Stream operators
export { reorderByWatermark, type ReorderByWatermarkOptions, type ReorderByWatermarkOperator, type ReorderStats } from '../operators/reorder-by-watermark.js';
export type { StateKey } from '../operators/internal/key-table.js';
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

// Protocol helpers (decode requests, e.g. in your own tests)
export { decodeWriteRequest, encodeWriteRequestReference } from './protocol/reference.js';
export type { DecodedWriteRequest, DecodedTimeSeries, DecodedLabel, DecodedSample } from './protocol/reference.js';
export { snappyCompress, snappyFrameLiteral, snappyUncompress, snappyBlockProblem, type Compression } from './protocol/snappy.js';

// Self-metrics in a prom-client registry
export { registerRxpromMetrics, type RxpromMetricsSources, type RxpromMetricsOptions, type RegisteredMetrics, type OperatorStatsSource } from './observability/prometheus-metrics.js';

// Authentication for managed Prometheus services
export { sigv4Signer, type SigV4SignerOptions, type AwsCredentials, type AwsCredentialsProvider } from './auth/sigv4-signer.js';
export { oauth2ClientCredentials, OAuth2TokenError, type OAuth2ClientCredentialsOptions, type AccessTokenProvider } from './auth/oauth2-client-credentials.js';

// Durable building blocks: checkpoints, the disk spool, acknowledged sources
export { CheckpointStore, CheckpointError, CHECKPOINT_FORMAT_VERSION, type CheckpointStoreOptions, type Checkpoint, type CheckpointProblem } from './durable/checkpoint-store.js';
export { DiskSpool, SpoolError, type DiskSpoolOptions, type SpoolFullPolicy, type SpoolFsyncPolicy, type SpoolRecord, type SpoolRecordRef, type SpoolProblem, type SpoolDrop, type SpoolStats, type SpoolProgress, type PendingSpoolRecord } from './durable/spool.js';
export { checkpointThenCommit, isPausable, type AcknowledgedSource, type Pausable, type Positioned } from './sources/acknowledged.js';
export { JournalSource, type JournalSourceOptions, type BadLine, type JournalStats } from './sources/journal.js';
export { PipelineState, type StateSlot, type StageState, type StageSnapshots } from './durable/pipeline-state.js';
export {
  DurablePipeline,
  type DurablePipelineOptions,
  type DurableStages,
  type DurableSummary,
  type DurableProblem,
  type CheckpointInfo,
  type RestoredCheckpoint,
} from './durable/durable-pipeline.js';
