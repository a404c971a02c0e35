/**
 * Partitioning a stream by the key that decides the output series: the producer puts each message
 * on `<prefix>.<partition>.<token>…`, where the partition is a stable hash of the key (for room
 * aggregates: site and room), and each worker consumes its partitions through one durable consumer
 * per partition filtered on `<prefix>.<partition>.>`. Every message of one key then goes to one
 * partition, so one worker writes each output series, in the order the stream holds.
 */
import { ConfigError } from '../../core/errors.js';
import { hashString } from '../../core/hash.js';

/** The partition of `key` among `partitions`: FNV-1a of the key, stable across processes and versions. */
export function partitionOf(key: string, partitions: number): number {
  if (typeof key !== 'string') throw new ConfigError('key', 'a string', key);
  if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError('partitions', 'an integer >= 1', partitions);
  return hashString(key) % partitions;
}

/** The partitions worker `worker` (0-based) of `workers` owns: p with p mod workers = worker. */
export function partitionsOfWorker(worker: number, workers: number, partitions: number): number[] {
  if (!Number.isInteger(workers) || workers < 1) throw new ConfigError('workers', 'an integer >= 1', workers);
  if (!Number.isInteger(worker) || worker < 0 || worker >= workers) throw new ConfigError('worker', `an integer in [0, ${workers - 1}]`, worker);
  if (!Number.isInteger(partitions) || partitions < 1) throw new ConfigError('partitions', 'an integer >= 1', partitions);
  const owned: number[] = [];
  for (let p = worker; p < partitions; p += workers) owned.push(p);
  return owned;
}

/** A subject token: NATS subjects split on '.', and '*', '>' and whitespace are special; those become '_'. */
export function subjectToken(text: string): string {
  const token = text.replace(/[.*>\s]/g, '_');
  return token.length === 0 ? '_' : token;
}

/** `<prefix>.<partition>.<tokens…>` */
export function partitionSubject(prefix: string, partition: number, tokens: readonly string[]): string {
  checkPrefixAndPartition(prefix, partition);
  if (!Array.isArray(tokens) || tokens.some((t) => typeof t !== 'string')) throw new ConfigError('tokens', 'a list of strings', Array.isArray(tokens) ? 'a list holding a non-string' : tokens);
  return [prefix, String(partition), ...tokens.map(subjectToken)].join('.');
}

/** The filter subject of one partition's consumer: `<prefix>.<partition>.>`. */
export function partitionFilter(prefix: string, partition: number): string {
  checkPrefixAndPartition(prefix, partition);
  return `${prefix}.${partition}.>`;
}

/** A subject prefix: one or more tokens joined by '.', none empty, without wildcards or whitespace. */
const SUBJECT_PREFIX = /^[^.*>\s]+(?:\.[^.*>\s]+)*$/;

/** A fractional, negative or NaN partition, or a prefix with wildcards, would name another subject (or none). */
function checkPrefixAndPartition(prefix: unknown, partition: unknown): void {
  if (typeof prefix !== 'string' || !SUBJECT_PREFIX.test(prefix)) throw new ConfigError('prefix', 'a NATS subject prefix such as "readings" (tokens joined by ".", no wildcards or whitespace)', prefix);
  if (typeof partition !== 'number' || !Number.isInteger(partition) || partition < 0) throw new ConfigError('partition', 'an integer >= 0', partition);
}
