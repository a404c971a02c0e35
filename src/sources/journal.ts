/**
 * A journal source: the lines of a JSON-lines file as an acknowledged source, with no broker.
 * The position of a line is the byte offset just after its newline, so resuming from a position
 * emits exactly the lines written after it. With `follow`, it keeps reading what is appended
 * (like `tail -f`): it polls every `pollIntervalMs`, and with `watch` also wakes on `fs.watch`.
 *
 * A line that does not parse is counted and handed to `onBadLine` with its offset and reason,
 * never a crash and never skipped silently; a last line without its newline (a writer mid-append)
 * is held back until it is complete. `pause()` stops reading and emitting until `resume()`, so a
 * slow sink can hold the reader back.
 *
 * Not handled: a journal rotated by renaming (the reader keeps the file it opened). A journal that
 * shrinks below the read position errors the stream.
 */
import { open, type FileHandle } from 'node:fs/promises';
import { watch, type FSWatcher } from 'node:fs';
import { Observable } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { functionOption, loggerOption, numberOption } from '../core/options.js';
import type { AcknowledgedSource, Pausable, Positioned } from './acknowledged.js';
import { AcknowledgedSourceBase } from './acknowledged-base.js';

export interface JournalSourceOptions<T> {
  /** The JSON-lines file. */
  path: string;
  /** Keep reading what is appended after reaching the end (default false: complete at the end). */
  follow?: boolean;
  /** How often to look for appended bytes when following; default 200 ms. */
  pollIntervalMs?: number;
  /** Also wake on `fs.watch` change events when following (default false; polling alone always works). */
  watch?: boolean;
  /** Bytes per read; default 64 KiB. */
  readBytes?: number;
  /** A longer line is reported bad and skipped to its end rather than buffered; default 1 MiB. */
  maxLineBytes?: number;
  /** Turns a line's text into an element; default `JSON.parse`. A throw marks the line bad, with the error's message as the reason. */
  parse?: (line: string) => T;
  /** Told about every bad line. A throw errors the stream. */
  onBadLine?: (bad: BadLine) => void;
  logger?: Logger;
}

/** A line that was not emitted because it could not be parsed. */
export interface BadLine {
  readonly path: string;
  /** Byte offset of the line's first byte. */
  readonly offset: number;
  /** Byte offset after its newline (where a resume would continue). */
  readonly position: number;
  readonly reason: string;
  /** The line's start, at most 200 characters. */
  readonly text: string;
}

export interface JournalStats {
  /** Bytes read from the file, over all subscriptions. */
  bytesRead: number;
  /** Complete lines read (emitted, bad or empty). */
  lines: number;
  emitted: number;
  badLines: number;
  /** Empty or whitespace-only lines: counted, not emitted. */
  emptyLines: number;
  /** Bytes of an incomplete last line held back, as of the last read. */
  partialBytes: number;
  /** File handles open right now. */
  openFiles: number;
}

const NEWLINE = 0x0a;

export class JournalSource<T = unknown> extends AcknowledgedSourceBase<T> implements AcknowledgedSource<T, number>, Pausable {
  readonly path: string;
  private readonly follow: boolean;
  private readonly pollIntervalMs: number;
  private readonly useWatch: boolean;
  private readonly readBytes: number;
  private readonly maxLineBytes: number;
  private readonly parse: (line: string) => T;
  private readonly onBadLine: ((bad: BadLine) => void) | undefined;
  private readonly logger: Logger;
  private readonly counters: JournalStats = { bytesRead: 0, lines: 0, emitted: 0, badLines: 0, emptyLines: 0, partialBytes: 0, openFiles: 0 };

  constructor(options: JournalSourceOptions<T>) {
    super('journal position');
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    if (typeof options.path !== 'string' || options.path.length === 0) throw new ConfigError('path', 'a non-empty string', options.path);
    this.path = options.path;
    if (options.follow !== undefined && typeof options.follow !== 'boolean') throw new ConfigError('follow', 'a boolean', options.follow);
    this.follow = options.follow ?? false;
    this.pollIntervalMs = numberOption('pollIntervalMs', options.pollIntervalMs, 200, { min: 1, max: 3_600_000 });
    if (options.watch !== undefined && typeof options.watch !== 'boolean') throw new ConfigError('watch', 'a boolean', options.watch);
    this.useWatch = options.watch ?? false;
    this.readBytes = numberOption('readBytes', options.readBytes, 64 * 1024, { min: 1, max: 64 * 1024 * 1024 });
    this.maxLineBytes = numberOption('maxLineBytes', options.maxLineBytes, 1024 * 1024, { min: 1 });
    this.parse = functionOption<(line: string) => T>('parse', options.parse, false) ?? ((line: string) => JSON.parse(line) as T);
    this.onBadLine = functionOption<(bad: BadLine) => void>('onBadLine', options.onBadLine, false);
    this.logger = loggerOption(options.logger, silentLogger);
  }

  /** Records that everything up to `position` is durable downstream (cumulative). */
  async commit(position: number): Promise<void> {
    this.advanceCommitted(position);
  }

  stats(): JournalStats {
    return { ...this.counters };
  }

  /**
   * The lines after `position` (a byte offset just after a newline; default: the committed
   * position, else 0). Errors when the position is past the end of the file or not at a line start.
   */
  resumeFrom(position?: number): Observable<Positioned<T, number>> {
    return new Observable<Positioned<T, number>>((subscriber) => {
      const reader = { closed: false, wake: (): void => {} };
      // Without a position, the committed one as of this subscription (a retry or repeat subscribes again later).
      this.read(position ?? this.committed ?? 0, reader, (element) => subscriber.next(element)).then(
        () => subscriber.complete(),
        (error: unknown) => subscriber.error(error),
      );
      return () => {
        reader.closed = true;
        reader.wake();
      };
    });
  }

  private async read(start: number, reader: { closed: boolean; wake: () => void }, emit: (element: Positioned<T, number>) => void): Promise<void> {
    const invalid = this.invalidPosition(start);
    if (invalid) throw invalid;
    const handle = await open(this.path, 'r');
    this.counters.openFiles++;
    let watcher: FSWatcher | undefined;
    try {
      await this.checkStart(handle, start);
      if (this.follow && this.useWatch) {
        watcher = watch(this.path, () => reader.wake());
        watcher.on('error', () => {}); // polling still runs
      }
      const chunk = Buffer.allocUnsafe(this.readBytes);
      let fileOffset = start;
      let pending = Buffer.alloc(0);
      let pendingStart = start;
      /** Inside an over-long line, dropping bytes until its newline. */
      let skipping: { offset: number; text: string } | undefined;
      while (!reader.closed) {
        if (this.paused) {
          await this.waitForChange(undefined, (wake) => (reader.wake = wake));
          continue;
        }
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, fileOffset);
        if (reader.closed) return;
        if (bytesRead === 0) {
          this.counters.partialBytes = pending.length;
          if (!this.follow) {
            if (pending.length > 0) {
              this.logger.warn({ path: this.path, position: pendingStart, bytes: pending.length }, `journal ${this.path} ends with ${pending.length} bytes without a newline; not emitted (a resume from ${pendingStart} reads the line once complete)`);
            }
            return;
          }
          const { size } = await handle.stat();
          if (size < fileOffset) throw new Error(`rxprom: journal ${this.path} shrank to ${size} bytes, below the read position ${fileOffset} (truncated or replaced)`);
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, this.pollIntervalMs);
            reader.wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          continue;
        }
        this.counters.bytesRead += bytesRead;
        fileOffset += bytesRead;
        const data = pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, bytesRead)]) : Buffer.from(chunk.subarray(0, bytesRead));
        let lineStart = 0;
        for (let newline = data.indexOf(NEWLINE); newline !== -1; newline = data.indexOf(NEWLINE, lineStart)) {
          const offset = pendingStart + lineStart;
          const position = pendingStart + newline + 1;
          if (skipping) {
            this.counters.lines++;
            this.bad({ offset: skipping.offset, position, reason: `line longer than ${this.maxLineBytes} bytes (option "maxLineBytes")`, text: skipping.text });
            skipping = undefined;
          } else {
            this.line(data, lineStart, newline, offset, position, emit);
          }
          lineStart = newline + 1;
          if (reader.closed) return;
          while (this.paused && !reader.closed) {
            await this.waitForChange(undefined, (wake) => (reader.wake = wake));
          }
        }
        pending = data.subarray(lineStart);
        pendingStart += lineStart;
        if (pending.length > this.maxLineBytes && !skipping) {
          skipping = { offset: pendingStart, text: pending.toString('utf8', 0, 200) };
        }
        if (skipping) {
          pendingStart += pending.length;
          pending = Buffer.alloc(0);
        }
      }
    } finally {
      watcher?.close();
      this.counters.openFiles--;
      await handle.close();
    }
  }

  /** A resume position must be inside the file and just after a newline. */
  private async checkStart(handle: FileHandle, start: number): Promise<void> {
    if (start === 0) return;
    const { size } = await handle.stat();
    if (start > size) throw new RangeError(`rxprom: journal ${this.path} has ${size} bytes; cannot resume from position ${start}`);
    const before = Buffer.alloc(1);
    await handle.read(before, 0, 1, start - 1);
    if (before[0] !== NEWLINE) throw new RangeError(`rxprom: position ${start} in journal ${this.path} is not at the start of a line`);
  }

  private line(data: Buffer, start: number, newline: number, offset: number, position: number, emit: (element: Positioned<T, number>) => void): void {
    this.counters.lines++;
    // The same rule as a line still growing past a read (`skipping`), so the read size never decides.
    if (newline - start > this.maxLineBytes) {
      this.bad({ offset, position, reason: `line longer than ${this.maxLineBytes} bytes (option "maxLineBytes")`, text: data.toString('utf8', start, Math.min(newline, start + 200)) });
      return;
    }
    const end = newline > start && data[newline - 1] === 0x0d ? newline - 1 : newline;
    const text = data.toString('utf8', start, end);
    if (text.trim().length === 0) {
      this.counters.emptyLines++;
      return;
    }
    let value: T;
    try {
      value = this.parse(text);
    } catch (error) {
      this.bad({ offset, position, reason: error instanceof Error ? error.message : String(error), text: text.slice(0, 200) });
      return;
    }
    this.counters.emitted++;
    emit({ value, position });
  }

  private bad(line: Omit<BadLine, 'path'>): void {
    this.counters.badLines++;
    const bad: BadLine = { path: this.path, ...line };
    this.logger.warn({ ...bad }, `journal ${this.path}: bad line at byte ${bad.offset}: ${bad.reason}`);
    this.onBadLine?.(bad);
  }
}
