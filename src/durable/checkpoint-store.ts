/**
 * A checkpoint store: the state of one named pipeline, saved atomically in a state directory so
 * that a restart resumes where the last durable checkpoint left off (operator state together with
 * the source positions it covers, as Flink does).
 *
 * One file per checkpoint, `checkpoint-<sequence>.ckpt`, written to a temp file, fsynced, renamed
 * and the directory fsynced. Layout of a file:
 *
 *   "RXPCKPT\n" | format version (u32 LE) | header length (u32 LE) | header JSON
 *   | state JSON | blob bytes, in header order | SHA-256 of everything before it (32 bytes)
 *
 * The header names the pipeline, the sequence number, the save time and the byte length of the
 * state and of each blob. `load()` returns the newest file that is complete and whose checksum
 * matches; a newer torn or corrupted file is reported (callback and logger, naming the file) and
 * skipped. A directory whose newest valid checkpoint belongs to another pipeline is refused.
 */
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { functionOption, loggerOption, numberOption } from '../core/options.js';
import { isTempFile, writeFileAtomic } from './durable-file.js';

/** The on-disk format this version writes and reads. */
export const CHECKPOINT_FORMAT_VERSION = 1;

const MAGIC = Buffer.from('RXPCKPT\n', 'latin1');
const PREAMBLE_BYTES = MAGIC.length + 8;
const CHECKSUM_BYTES = 32;
const FILE_PATTERN = /^checkpoint-(\d{16})\.ckpt$/;

export interface CheckpointStoreOptions {
  /** The state directory (created when missing). One pipeline per directory. */
  directory: string;
  /** The pipeline's identity (a name or fingerprint); checkpoints of another identity are refused. */
  pipeline: string;
  /** Checkpoints kept (the newest valid ones), 1 to 1000; default 3. */
  keep?: number;
  /** A byte budget for the directory's checkpoint files; a save that would exceed it fails as a full disk does (ENOSPC). Default: none. */
  maxBytes?: number;
  /** Fsync file and directory on every save (default true; false only for tests and throwaway state). */
  fsync?: boolean;
  /** Told about every torn or corrupted checkpoint file that `load()` skips. A throw rejects `load()`. */
  onProblem?: (problem: CheckpointProblem) => void;
  logger?: Logger;
}

/** A checkpoint file that was skipped, and why. */
export interface CheckpointProblem {
  readonly file: string;
  readonly sequence: number;
  readonly reason: string;
}

export interface Checkpoint<S> {
  readonly pipeline: string;
  readonly sequence: number;
  /** When it was saved, ms since the epoch. */
  readonly savedAt: number;
  readonly state: S;
  /** Node `Buffer`s at run time. */
  readonly blobs: Readonly<Record<string, Uint8Array>>;
  /** The file it was read from or written to. */
  readonly file: string;
}

/** A checkpoint that could not be saved or a state directory that is refused. */
export class CheckpointError extends Error {
  override readonly name = 'CheckpointError';
  constructor(
    message: string,
    /** The file concerned, when there is one. */
    readonly file: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

interface Header {
  pipeline: string;
  sequence: number;
  savedAt: number;
  stateBytes: number;
  blobs: [string, number][];
}

export class CheckpointStore<S = unknown> {
  readonly directory: string;
  readonly pipeline: string;
  private readonly keep: number;
  private readonly maxBytes: number | undefined;
  private readonly sync: boolean;
  private readonly onProblem: ((problem: CheckpointProblem) => void) | undefined;
  private readonly logger: Logger;
  /** Saves run one after another, in call order. */
  private queue: Promise<unknown> = Promise.resolve();
  private scanned: Promise<void> | undefined;
  private nextSequence = 1;
  /** Sequence numbers of the files known to be valid, newest first. */
  private validSequences: number[] = [];
  /** Bytes of every checkpoint file in the directory, by sequence. */
  private readonly fileBytes = new Map<number, number>();

  constructor(options: CheckpointStoreOptions) {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    this.directory = nonEmptyString('directory', options.directory);
    this.pipeline = nonEmptyString('pipeline', options.pipeline);
    this.keep = numberOption('keep', options.keep, 3, { min: 1, max: 1000 });
    this.maxBytes = options.maxBytes === undefined ? undefined : numberOption('maxBytes', options.maxBytes, undefined, { min: 1 });
    if (options.fsync !== undefined && typeof options.fsync !== 'boolean') throw new ConfigError('fsync', 'a boolean', options.fsync);
    this.sync = options.fsync ?? true;
    this.onProblem = functionOption<(problem: CheckpointProblem) => void>('onProblem', options.onProblem, false);
    this.logger = loggerOption(options.logger, silentLogger);
  }

  /**
   * The newest complete, valid checkpoint, or undefined when there is none. Torn or corrupted
   * newer files are reported and skipped. Rejects with a `CheckpointError` when the newest valid
   * checkpoint belongs to another pipeline or was written in an unsupported format version.
   */
  load(): Promise<Checkpoint<S> | undefined> {
    const run = this.queue.then(() => this.scan(true));
    this.queue = run.catch(() => {});
    return run;
  }

  /**
   * Saves `state` (serialised as JSON when called, so later mutation does not leak in) and
   * optional binary blobs (copied when called) as the next checkpoint. Resolves once it is durable; concurrent calls
   * are written one after another in call order. On failure (a full disk, say) the previous
   * checkpoints are untouched and the error names the directory and the cause.
   */
  save(state: S, blobs: Readonly<Record<string, Uint8Array>> = {}): Promise<Checkpoint<S>> {
    let stateJson: string | undefined;
    try {
      stateJson = JSON.stringify(state);
    } catch (error) {
      return Promise.reject(new CheckpointError(`rxprom: checkpoint of pipeline "${this.pipeline}": the state is not JSON-serialisable (${(error as Error).message})`, undefined, { cause: error }));
    }
    if (stateJson === undefined) return Promise.reject(new CheckpointError(`rxprom: checkpoint of pipeline "${this.pipeline}": the state is not JSON-serialisable (got ${typeof state})`, undefined));
    const stateBytes = Buffer.from(stateJson, 'utf8');
    // Copied now, like the state, so a caller may go on changing its buffers.
    const blobList = Object.entries(blobs).map(([name, bytes]): [string, Buffer] => [name, Buffer.from(bytes)]);
    const run = this.queue.then(async () => {
      if (!this.scanned) this.scanned = this.scan(false).then(() => {});
      await this.scanned;
      return this.write(state, stateBytes, blobList);
    });
    this.queue = run.catch(() => {});
    return run;
  }

  private async write(state: S, stateBytes: Buffer, blobs: [string, Buffer][]): Promise<Checkpoint<S>> {
    const sequence = this.nextSequence;
    const savedAt = Date.now();
    const header: Header = { pipeline: this.pipeline, sequence, savedAt, stateBytes: stateBytes.length, blobs: blobs.map(([name, bytes]) => [name, bytes.length]) };
    const bytes = encodeCheckpoint(header, stateBytes, blobs);
    const file = join(this.directory, fileName(sequence));
    try {
      const used = [...this.fileBytes.values()].reduce((sum, n) => sum + n, 0);
      const maxBytes = this.maxBytes;
      await writeFileAtomic(file, bytes, { sync: this.sync, spaceLeft: maxBytes === undefined ? undefined : () => maxBytes - used });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      const why = code === 'ENOSPC' ? 'no space left (ENOSPC)' : (error as Error).message;
      const previous = this.validSequences[0];
      const kept = previous === undefined ? 'there is no previous checkpoint' : `checkpoint ${previous} stays the newest`;
      throw new CheckpointError(`rxprom: checkpoint store "${this.directory}": could not save checkpoint ${sequence} of pipeline "${this.pipeline}": ${why}; ${kept}`, file, { cause: error });
    }
    this.nextSequence = sequence + 1;
    this.fileBytes.set(sequence, bytes.length);
    this.validSequences.unshift(sequence);
    await this.prune();
    const blobRecord: Record<string, Buffer> = {};
    for (const [name, blob] of blobs) blobRecord[name] = blob;
    return { pipeline: this.pipeline, sequence, savedAt, state, blobs: blobRecord, file };
  }

  /** Removes every file older than the `keep`-th newest valid checkpoint. */
  private async prune(): Promise<void> {
    const oldestKept = this.validSequences[this.keep - 1];
    if (oldestKept === undefined) return;
    this.validSequences = this.validSequences.slice(0, this.keep);
    for (const sequence of [...this.fileBytes.keys()]) {
      if (sequence >= oldestKept) continue;
      await rm(join(this.directory, fileName(sequence)), { force: true });
      this.fileBytes.delete(sequence);
    }
  }

  /** Reads the directory: sequence numbers, sizes, the newest valid checkpoint. */
  private async scan(report: boolean): Promise<Checkpoint<S> | undefined> {
    await mkdir(this.directory, { recursive: true });
    const names = await readdir(this.directory);
    const sequences: number[] = [];
    for (const name of names) {
      if (isTempFile(name)) {
        // A save that died before its rename: never part of a checkpoint.
        await rm(join(this.directory, name), { force: true });
        continue;
      }
      const match = FILE_PATTERN.exec(name);
      if (match) sequences.push(Number(match[1]));
    }
    sequences.sort((a, b) => b - a);
    this.fileBytes.clear();
    this.validSequences = [];
    this.nextSequence = (sequences[0] ?? 0) + 1;
    let newest: Checkpoint<S> | undefined;
    const problems: CheckpointProblem[] = [];
    for (const sequence of sequences) {
      const file = join(this.directory, fileName(sequence));
      const bytes = await readFile(file);
      this.fileBytes.set(sequence, bytes.length);
      const decoded = decodeCheckpoint(bytes, sequence);
      if (typeof decoded === 'string') {
        problems.push({ file, sequence, reason: decoded });
        continue;
      }
      if (decoded.header === undefined) {
        throw new CheckpointError(`rxprom: checkpoint store "${this.directory}": ${file} is in format version ${decoded.version}, this rxprom reads version ${CHECKPOINT_FORMAT_VERSION}; refusing to start from an older checkpoint`, file);
      }
      const { header, state, blobs } = decoded;
      if (header.pipeline !== this.pipeline) {
        throw new CheckpointError(
          `rxprom: checkpoint store "${this.directory}" holds checkpoints of pipeline "${header.pipeline}" (${file}), not of "${this.pipeline}"; use another state directory or remove it`,
          file,
        );
      }
      this.validSequences.push(sequence);
      newest ??= { pipeline: header.pipeline, sequence, savedAt: header.savedAt, state: state as S, blobs, file };
    }
    if (report) {
      for (const problem of problems) {
        this.logger.warn({ file: problem.file, sequence: problem.sequence, reason: problem.reason }, `checkpoint ${problem.file} skipped: ${problem.reason}`);
        this.onProblem?.(problem);
      }
      if (!newest && problems.length > 0) {
        this.logger.error({ directory: this.directory, files: problems.length }, `no valid checkpoint in ${this.directory} (${problems.length} damaged); starting without state`);
      }
    }
    return newest;
  }
}

function fileName(sequence: number): string {
  return `checkpoint-${String(sequence).padStart(16, '0')}.ckpt`;
}

function nonEmptyString(option: string, value: unknown): string {
  if (typeof value !== 'string' || value.length === 0) throw new ConfigError(option, 'a non-empty string', value);
  return value;
}

function encodeCheckpoint(header: Header, state: Buffer, blobs: [string, Buffer][]): Buffer {
  const headerBytes = Buffer.from(JSON.stringify(header), 'utf8');
  const preamble = Buffer.alloc(PREAMBLE_BYTES);
  MAGIC.copy(preamble, 0);
  preamble.writeUInt32LE(CHECKPOINT_FORMAT_VERSION, MAGIC.length);
  preamble.writeUInt32LE(headerBytes.length, MAGIC.length + 4);
  const body = Buffer.concat([preamble, headerBytes, state, ...blobs.map(([, bytes]) => bytes)]);
  const checksum = createHash('sha256').update(body).digest();
  return Buffer.concat([body, checksum]);
}

interface Decoded {
  version: typeof CHECKPOINT_FORMAT_VERSION;
  header: Header;
  state: unknown;
  blobs: Record<string, Buffer>;
}

/** A complete, checksummed file written in another format version. */
interface OtherVersion {
  version: number;
  header?: undefined;
}

/** Decodes a checkpoint file, or says what is wrong with it. */
function decodeCheckpoint(bytes: Buffer, sequence: number): Decoded | OtherVersion | string {
  if (bytes.length < PREAMBLE_BYTES + CHECKSUM_BYTES) return `truncated: ${bytes.length} bytes, shorter than any checkpoint`;
  if (!bytes.subarray(0, MAGIC.length).equals(MAGIC)) return 'not a checkpoint file (bad magic bytes)';
  const bodyEnd = bytes.length - CHECKSUM_BYTES;
  const expected = createHash('sha256').update(bytes.subarray(0, bodyEnd)).digest();
  const headerLength = bytes.readUInt32LE(MAGIC.length + 4);
  if (!expected.equals(bytes.subarray(bodyEnd))) {
    // Say "truncated" when the header itself shows the file is shorter than it was written.
    const declared = declaredLength(bytes, headerLength);
    if (declared !== undefined && declared > bytes.length) return `truncated: ${bytes.length} of ${declared} bytes`;
    return 'checksum mismatch (the file was torn or corrupted)';
  }
  const version = bytes.readUInt32LE(MAGIC.length);
  // A complete file of another version: its header and payload are that version's to lay out.
  if (version !== CHECKPOINT_FORMAT_VERSION) return { version };
  if (PREAMBLE_BYTES + headerLength > bodyEnd) return 'header length out of range';
  let header: Header;
  try {
    header = JSON.parse(bytes.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)) as Header;
  } catch {
    return 'header is not valid JSON';
  }
  if (header.sequence !== sequence) return `sequence ${String(header.sequence)} inside does not match the file name`;
  let offset = PREAMBLE_BYTES + headerLength;
  const stateEnd = offset + header.stateBytes;
  const blobTotal = header.blobs.reduce((sum, [, length]) => sum + length, 0);
  if (stateEnd + blobTotal !== bodyEnd) return 'payload lengths do not add up to the file size';
  let state: unknown;
  try {
    state = JSON.parse(bytes.toString('utf8', offset, stateEnd));
  } catch {
    return 'state is not valid JSON';
  }
  offset = stateEnd;
  const blobs: Record<string, Buffer> = {};
  for (const [name, length] of header.blobs) {
    blobs[name] = Buffer.from(bytes.subarray(offset, offset + length));
    offset += length;
  }
  return { version: CHECKPOINT_FORMAT_VERSION, header, state, blobs };
}

/** The file length the header declares, when the header is readable. */
function declaredLength(bytes: Buffer, headerLength: number): number | undefined {
  if (PREAMBLE_BYTES + headerLength > bytes.length) return undefined;
  try {
    const header = JSON.parse(bytes.toString('utf8', PREAMBLE_BYTES, PREAMBLE_BYTES + headerLength)) as Header;
    if (typeof header.stateBytes !== 'number' || !Array.isArray(header.blobs)) return undefined;
    return PREAMBLE_BYTES + headerLength + header.stateBytes + header.blobs.reduce((sum, [, length]) => sum + Number(length), 0) + CHECKSUM_BYTES;
  } catch {
    return undefined;
  }
}
