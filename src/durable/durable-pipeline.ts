/**
 * The checkpoint coordinator: runs a pipeline of stateful stages fed by an acknowledged source so
 * that a restart (graceful or a crash) continues where the last durable checkpoint left off.
 *
 * On start it loads the newest valid checkpoint from the state directory, hands each stage its
 * saved state through a `PipelineState`, and resumes the source from the saved position. While
 * running it records each element's position as the element enters the chain (synchronously, so
 * between two elements the position and every synchronous stage's state agree) and every
 * `checkpointIntervalMs` takes a checkpoint:
 *
 *   snapshot every stage + the position, in one synchronous pass → await the stages' flush()
 *   → save the file (write, fsync, rename) → stages' checkpointed() → source.commit(position)
 *
 * `checkpointed()` is given the oldest checkpoint still kept (`keep`), not the newest: when the
 * newest files are found damaged, a restart falls back to an older one, and what that one refers
 * to (spool records) must still be there.
 * Checkpoints never overlap, and the source is never told to forget what a durable checkpoint
 * does not cover. `stop()` pauses the source, takes a last checkpoint (open windows are saved,
 * not flushed half full) and unsubscribes.
 *
 * A failed checkpoint (a full disk, say) leaves the previous one valid and loses nothing: the
 * source keeps everything after the last committed position. The pipeline keeps running and tries
 * again at the next interval; with `failAfterCheckpointFailures: N` it errors after N failures in a
 * row instead.
 */
import { Observable, type OperatorFunction, type Subscription } from 'rxjs';
import { ConfigError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import { functionOption, loggerOption, numberOption } from '../core/options.js';
import { isPausable, type AcknowledgedSource } from '../sources/acknowledged.js';
import { CheckpointError, CheckpointStore, type CheckpointProblem } from './checkpoint-store.js';
import { PipelineState, type StageSnapshots } from './pipeline-state.js';

/** What `build` returns: the chain, and optionally the sink's backpressure signal (true = pause the source). */
export type DurableStages<T, R> = OperatorFunction<T, R> | { readonly operator: OperatorFunction<T, R>; readonly pressure?: Observable<boolean> };

export interface DurablePipelineOptions<T, P, R> {
  /** The state directory: checkpoints are written here (one pipeline per directory). */
  directory: string;
  /** The pipeline's identity; a directory holding another pipeline's checkpoints is refused. */
  pipeline: string;
  source: AcknowledgedSource<T, P>;
  /**
   * Builds the chain from the pipeline's state: create a slot per stateful stage
   * (`state.slot('window')`) and pass it to the operator or sink. Called once, before the source
   * is subscribed. A remoteWrite sink's `pressure` is picked up when the returned function carries one.
   */
  build: (state: PipelineState) => DurableStages<T, R>;
  /** Time between two checkpoints, 10 ms to 1 h; default 5000. */
  checkpointIntervalMs?: number;
  /**
   * Error the pipeline after this many failed checkpoints in a row, or this many checkpoints in a
   * row whose source commit failed; default 0: never (keep running, retry every interval).
   */
  failAfterCheckpointFailures?: number;
  /** Checkpoints kept; default 3. */
  keep?: number;
  /** A byte budget for the checkpoint files (a save over it fails as on a full disk). Default: none. */
  maxBytes?: number;
  /** Fsync every checkpoint (default true). */
  fsync?: boolean;
  /** Every element the chain emits (e.g. the sink's WriteOutcomes). A throw errors the pipeline. */
  onOutput?: (value: R) => void;
  /** Told about each checkpoint saved. A throw errors the pipeline. */
  onCheckpoint?: (checkpoint: CheckpointInfo<P>) => void;
  /** Told about each problem: a damaged checkpoint skipped, a checkpoint that failed, restored state no stage took. A throw errors the pipeline. */
  onProblem?: (problem: DurableProblem) => void;
  logger?: Logger;
}

/** A checkpoint that was saved. */
export interface CheckpointInfo<P> {
  readonly sequence: number;
  readonly file: string;
  /** The source position it covers (undefined: no element read yet and none restored). */
  readonly position: P | undefined;
  /** Slot names whose state it holds. */
  readonly stages: readonly string[];
  /** Size of the stages' state, JSON. */
  readonly stateBytes: number;
  /** The synchronous pass: every stage's snapshot and its serialisation. */
  readonly snapshotMs: number;
  /** From the end of the snapshot to the commit: the stages' flush and the durable save. */
  readonly saveMs: number;
  readonly reason: 'interval' | 'stop' | 'completed' | 'manual';
}

/** The checkpoint a run started from. */
export interface RestoredCheckpoint<P> {
  readonly sequence: number;
  readonly file: string;
  readonly savedAt: number;
  readonly position: P | undefined;
  /** The states restored, by slot name (what each stage took). */
  readonly stages: Readonly<StageSnapshots>;
  /** Restored states that no slot took (a stage renamed or removed): dropped at the next checkpoint. */
  readonly untaken: readonly string[];
}

export type DurableProblem =
  | { readonly kind: 'damaged-checkpoint'; readonly file: string; readonly sequence: number; readonly reason: string }
  | { readonly kind: 'checkpoint-failed'; readonly error: Error; readonly consecutive: number }
  | { readonly kind: 'untaken-state'; readonly stages: readonly string[] }
  /**
   * Checkpoint `sequence` is saved (a restart resumes from it) but the source's `commit` failed: it
   * may deliver again what the checkpoint covers; the next checkpoint commits again. `consecutive`
   * commits in a row have failed; at `failAfterCheckpointFailures` the pipeline errors.
   */
  | { readonly kind: 'commit-failed'; readonly error: Error; readonly sequence: number; readonly consecutive: number };

export interface DurableSummary<P> {
  /** `completed`: the source ended and everything flowed out; `stopped`: `stop()`; `failed`: see `error`. */
  readonly ending: 'running' | 'completed' | 'stopped' | 'failed';
  readonly error?: Error;
  readonly restored: RestoredCheckpoint<P> | undefined;
  /** Damaged checkpoint files skipped at start. */
  readonly damagedCheckpoints: readonly CheckpointProblem[];
  /** Elements read from the source in this run. */
  readonly elements: number;
  /** The position of the last element read (or the restored one). */
  readonly position: P | undefined;
  readonly checkpoints: number;
  readonly checkpointFailures: number;
  readonly lastCheckpoint: CheckpointInfo<P> | undefined;
  /** Times the sink's pressure paused the source. */
  readonly pauses: number;
}

interface SavedState<P> {
  readonly format: 1;
  readonly position: P | null;
  readonly stages: string[];
  /** The source's `checkpointCovered(position)`, when it has one. */
  readonly covered?: unknown;
}

const STAGES_BLOB = 'stages';

/** The promise's outcome, or 'timeout' when it takes longer than `ms`. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

function pick(snapshots: StageSnapshots, names: readonly string[]): StageSnapshots {
  const picked: StageSnapshots = {};
  for (const name of names) if (name in snapshots) picked[name] = snapshots[name];
  return picked;
}

export class DurablePipeline<T, P, R> {
  /** The checkpoint this run started from, if any. */
  readonly restored: RestoredCheckpoint<P> | undefined;
  /** Resolves once the pipeline has ended (completed, stopped or failed), with its summary. Never rejects. */
  readonly done: Promise<DurableSummary<P>>;

  private readonly intervalMs: number;
  private readonly keep: number;
  /** The listening stages' part of each kept checkpoint (the restored one first), oldest first. */
  private readonly fallbacks: StageSnapshots[] = [];
  private readonly failAfter: number;
  private readonly logger: Logger;
  private readonly onOutput: ((value: R) => void) | undefined;
  private readonly onCheckpoint: ((checkpoint: CheckpointInfo<P>) => void) | undefined;
  private readonly onProblem: ((problem: DurableProblem) => void) | undefined;
  private position: P | undefined;
  private elements = 0;
  private inElement = false;
  private checkpoints = 0;
  private failures = 0;
  private consecutiveFailures = 0;
  /** Source commits failed in a row (their checkpoints saved): a source that cannot commit for good fails the pipeline at the same bound. */
  private consecutiveCommitFailures = 0;
  private pauses = 0;
  private lastCheckpoint: CheckpointInfo<P> | undefined;
  private ending: DurableSummary<P>['ending'] = 'running';
  private error: Error | undefined;
  private stopping = false;
  /** The stop gave up waiting: a checkpoint whose file is not being written yet must never be written. */
  private abandoned = false;
  /** The checkpoint whose file is being written now (it cannot be taken back), and whether it landed. */
  private writing: { readonly reason: CheckpointInfo<P>['reason']; readonly landed: Promise<boolean> } | undefined;
  /** The stop returned while its own checkpoint was still being written (counted failed until it lands). */
  private stopLeftItsSave = false;
  /** The checkpoint running now, if any: the next one waits for it. */
  private running: Promise<unknown> = Promise.resolve();
  private timer: NodeJS.Timeout | undefined;
  private subscription: Subscription | undefined;
  private pressureSubscription: Subscription | undefined;
  private resolveDone!: (summary: DurableSummary<P>) => void;
  private readonly source: AcknowledgedSource<T, P>;
  private readonly directory: string;

  /** Loads the last checkpoint, builds the chain with the restored states, and starts reading the source. */
  static async start<T, P, R>(options: DurablePipelineOptions<T, P, R>): Promise<DurablePipeline<T, P, R>> {
    if (options === null || typeof options !== 'object') throw new ConfigError('options', 'an object', options);
    const source = options.source as unknown;
    if (source === null || typeof source !== 'object' || typeof (source as AcknowledgedSource<T, P>).resumeFrom !== 'function' || typeof (source as AcknowledgedSource<T, P>).commit !== 'function') {
      throw new ConfigError('source', 'an AcknowledgedSource (resumeFrom, commit)', source);
    }
    const build = functionOption<(state: PipelineState) => DurableStages<T, R>>('build', options.build, true)!;
    const intervalMs = numberOption('checkpointIntervalMs', options.checkpointIntervalMs, 5000, { min: 10, max: 3_600_000 });
    const failAfter = numberOption('failAfterCheckpointFailures', options.failAfterCheckpointFailures, 0, { min: 0, max: 1_000_000 });
    functionOption('onOutput', options.onOutput, false);
    functionOption('onCheckpoint', options.onCheckpoint, false);
    const onProblem = functionOption<(problem: DurableProblem) => void>('onProblem', options.onProblem, false);
    const logger = loggerOption(options.logger, silentLogger);
    const damaged: CheckpointProblem[] = [];
    const store = new CheckpointStore<SavedState<P>>({
      directory: options.directory,
      pipeline: options.pipeline,
      keep: options.keep,
      maxBytes: options.maxBytes,
      fsync: options.fsync,
      logger,
      onProblem: (problem) => {
        damaged.push(problem);
        onProblem?.({ kind: 'damaged-checkpoint', ...problem });
      },
    });
    const checkpoint = await store.load();
    let stages: StageSnapshots = {};
    if (checkpoint) {
      const blob = checkpoint.blobs[STAGES_BLOB];
      if (checkpoint.state?.format !== 1 || blob === undefined) {
        throw new CheckpointError(`rxprom: ${checkpoint.file} is a checkpoint of pipeline "${options.pipeline}" but not one written by DurablePipeline (no stage states); use another state directory`, checkpoint.file);
      }
      stages = JSON.parse(Buffer.from(blob).toString('utf8')) as StageSnapshots;
    }
    const state = new PipelineState(stages);
    const built = build(state);
    const operator = typeof built === 'function' ? built : built.operator;
    if (typeof operator !== 'function') throw new ConfigError('build', 'a function returning an operator or { operator, pressure? }', built);
    const pressure = typeof built === 'function' ? (built as { pressure?: unknown }).pressure : built.pressure;
    const restoredPosition = checkpoint && checkpoint.state.position !== null ? checkpoint.state.position : undefined;
    // Filled in once the chain has subscribed and every stage has taken its state.
    const untaken: string[] = [];
    const restored = checkpoint && { sequence: checkpoint.sequence, file: checkpoint.file, savedAt: checkpoint.savedAt, position: restoredPosition, stages, untaken };
    const pipeline = new DurablePipeline<T, P, R>(options, store, state, intervalMs, failAfter, logger, damaged, restored, checkpoint?.state.covered);
    pipeline.run(operator, pressure instanceof Observable ? (pressure as Observable<boolean>) : undefined, untaken);
    return pipeline;
  }

  private constructor(
    options: DurablePipelineOptions<T, P, R>,
    private readonly store: CheckpointStore<SavedState<P>>,
    private readonly state: PipelineState,
    intervalMs: number,
    failAfter: number,
    logger: Logger,
    private readonly damaged: CheckpointProblem[],
    restored: RestoredCheckpoint<P> | undefined,
    /** The source's part of the restored checkpoint (see `AcknowledgedSource.checkpointCovered`). */
    private readonly restoredCovered?: unknown,
  ) {
    this.source = options.source;
    this.directory = options.directory;
    this.intervalMs = intervalMs;
    this.keep = options.keep ?? 3;
    if (restored) this.fallbacks.push(restored.stages);
    this.failAfter = failAfter;
    this.logger = logger;
    this.onOutput = options.onOutput;
    this.onCheckpoint = options.onCheckpoint;
    this.onProblem = options.onProblem;
    this.restored = restored;
    this.position = restored?.position;
    this.done = new Promise((resolve) => (this.resolveDone = resolve));
  }

  private run(operator: OperatorFunction<T, R>, pressure: Observable<boolean> | undefined, untakenOut: string[]): void {
    const restored = this.restored;
    if (restored) {
      this.logger.info(
        { directory: this.directory, sequence: restored.sequence, file: restored.file, position: restored.position, stages: Object.keys(restored.stages) },
        `restored checkpoint #${restored.sequence} (${restored.file}): resuming the source after position ${JSON.stringify(restored.position)}`,
      );
    } else {
      this.logger.info({ directory: this.directory }, `no checkpoint in ${this.directory}: starting from the source's committed position`);
    }
    const upstream = restored?.position === undefined ? this.source.resumeFrom() : this.restoredCovered === undefined ? this.source.resumeFrom(restored.position) : this.source.resumeFrom(restored.position, this.restoredCovered);
    // The position is recorded as the element enters the chain: once the synchronous chain has run,
    // every stage's state covers exactly the elements up to it.
    const positioned = new Observable<T>((subscriber) =>
      upstream.subscribe({
        next: ({ value, position }) => {
          this.position = position;
          this.elements++;
          this.inElement = true;
          try {
            subscriber.next(value);
          } finally {
            this.inElement = false;
          }
        },
        error: (error: unknown) => subscriber.error(error),
        complete: () => subscriber.complete(),
      }),
    );
    if (pressure && isPausable(this.source)) {
      const pausable = this.source;
      this.pressureSubscription = pressure.subscribe((hold) => {
        if (this.stopping) return;
        if (hold && !pausable.paused) {
          this.pauses++;
          pausable.pause();
        } else if (!hold && pausable.paused) {
          pausable.resume();
        }
      });
    }
    this.subscription = positioned.pipe(operator).subscribe({
      next: (value) => {
        if (!this.onOutput) return;
        try {
          this.onOutput(value);
        } catch (error) {
          this.fail(error);
        }
      },
      error: (error: unknown) => this.fail(error),
      complete: () => void this.complete(),
    });
    if (this.ending !== 'running') return;
    // The chain has subscribed: every stage that wanted its state has taken it.
    const untaken = this.state.untaken();
    if (restored && untaken.length > 0) {
      untakenOut.push(...untaken);
      this.logger.warn(
        { stages: untaken, file: restored.file },
        `checkpoint #${restored.sequence} holds state for ${untaken.map((name) => `"${name}"`).join(', ')} that no stage took (renamed or removed?): it is dropped at the next checkpoint`,
      );
      this.report({ kind: 'untaken-state', stages: untaken });
    }
    this.schedule();
  }

  /** Takes a checkpoint now (after the one running, if any). Resolves with it, or rejects when it failed (counted as a failure). */
  checkpoint(): Promise<CheckpointInfo<P>> {
    return this.enqueue('manual');
  }

  /**
   * Pauses the source, saves a last checkpoint (open windows and unsent batches are saved, not
   * flushed), then unsubscribes. Resolves with the summary; a failed last checkpoint is counted and
   * logged, and the next start resumes from the previous one. A last checkpoint that does not
   * finish within `timeoutMs` (default 30 s; a stage's flush can wait forever, e.g. a full spool
   * with the receiver down) is abandoned the same way when its file is not being written yet: it is
   * never written afterwards. A checkpoint file being written at that moment cannot be taken back:
   * the stop waits for it up to `timeoutMs` more and reports what happened to it; one still being
   * written then is reported as such, and logged as saved late (in `summary()`) if it lands.
   */
  async stop(options: { timeoutMs?: number } = {}): Promise<DurableSummary<P>> {
    const timeoutMs = numberOption('timeoutMs', options?.timeoutMs, 30_000, { min: 0, max: 3_600_000 });
    if (this.stopping || this.ending !== 'running') return this.done;
    this.stopping = true;
    clearTimeout(this.timer);
    const pausable = isPausable(this.source) ? this.source : undefined;
    pausable?.pause();
    const saved = this.enqueue('stop').then(
      () => 'saved' as const,
      () => 'failed' as const, // counted and reported by take(); the previous checkpoint stays the one to resume from
    );
    if ((await within(saved, timeoutMs)) === 'timeout') {
      // From here on, a checkpoint that has not started writing its file never does.
      this.abandoned = true;
      const writing = this.writing;
      let landed: boolean | undefined;
      if (writing !== undefined) {
        void writing.landed.then((outcome) => (landed = outcome));
        this.logger.warn(
          { directory: this.directory, timeoutMs, checkpoint: writing.reason },
          `the last checkpoint did not finish within ${timeoutMs} ms and a checkpoint file (${writing.reason}) is being written: waiting up to ${timeoutMs} ms more for it`,
        );
        // The stop's own checkpoint: its commit too; another one: until it lands (the stop's own was never started).
        await within<unknown>(writing.reason === 'stop' ? saved : writing.landed, timeoutMs);
      }
      const own = writing?.reason === 'stop';
      // The stop's own checkpoint on disk (its commit may still be under way), or failed and counted by take(): reported as it is.
      if (this.lastCheckpoint?.reason !== 'stop' && !(own && landed === false)) {
        this.failures++;
        this.consecutiveFailures++;
        const previous = this.lastCheckpoint?.sequence ?? this.restored?.sequence;
        const fallback = previous === undefined ? 'no checkpoint: a restart reads the source from its committed position' : `checkpoint #${previous} stays the one a restart resumes from`;
        let error: Error;
        if (writing === undefined || landed !== undefined) {
          error = new Error(`the last checkpoint did not finish within ${timeoutMs} ms (a stage's flush is still waiting, e.g. a full spool with the receiver down); abandoned, ${fallback}`);
        } else {
          if (own) this.stopLeftItsSave = true;
          const which = own ? "the last checkpoint's file" : `the file of an earlier checkpoint (${writing.reason}) it waited behind (its own was abandoned)`;
          error = new Error(`the last checkpoint did not finish within ${timeoutMs} ms and ${which} was still being written ${timeoutMs} ms later: if it lands, it is the one a restart resumes from (logged as saved late); if not, ${fallback}`);
        }
        this.logger.error({ directory: this.directory, timeoutMs }, `rxprom: ${error.message}`);
        this.report({ kind: 'checkpoint-failed', error, consecutive: this.consecutiveFailures });
      }
    }
    if (this.ending === 'running') this.finish('stopped');
    pausable?.resume();
    return this.done;
  }

  /** The summary so far. */
  summary(): DurableSummary<P> {
    return {
      ending: this.ending,
      ...(this.error ? { error: this.error } : {}),
      restored: this.restored,
      damagedCheckpoints: [...this.damaged],
      elements: this.elements,
      position: this.position,
      checkpoints: this.checkpoints,
      checkpointFailures: this.failures,
      lastCheckpoint: this.lastCheckpoint,
      pauses: this.pauses,
    };
  }

  private schedule(): void {
    if (this.stopping || this.ending !== 'running') return;
    this.timer = setTimeout(() => {
      this.enqueue('interval').then(
        () => this.schedule(),
        () => this.schedule(),
      );
    }, this.intervalMs);
  }

  private enqueue(reason: CheckpointInfo<P>['reason']): Promise<CheckpointInfo<P>> {
    const next = this.running.then(() => this.take(reason));
    this.running = next.catch(() => {});
    return next;
  }

  private async take(reason: CheckpointInfo<P>['reason']): Promise<CheckpointInfo<P>> {
    if (this.ending !== 'running' && reason !== 'completed') throw new Error(`rxprom: the pipeline has ${this.ending}; no checkpoint taken`);
    // Never inside an element's synchronous pass through the chain (a callback asking for one).
    while (this.inElement) await new Promise((resolve) => setImmediate(resolve));
    let writing = false;
    try {
      const started = performance.now();
      const position = this.position;
      const stages = this.state.snapshot();
      // Taken with the stages: what the source redelivers after a crash before `commit` is known as covered.
      const covered = position !== undefined ? this.source.checkpointCovered?.(position) : undefined;
      const stagesJson = Buffer.from(JSON.stringify(stages), 'utf8');
      const snapshotted = performance.now();
      await this.state.flush();
      if (this.abandoned) throw new Error('abandoned at stop');
      writing = true;
      const landing = this.store
        .save({ format: 1, position: position ?? null, stages: Object.keys(stages), ...(covered !== undefined ? { covered } : {}) }, { [STAGES_BLOB]: stagesJson })
        .then((saved): CheckpointInfo<P> => {
          // Counted as soon as it is on disk: from now on a restart resumes from it.
          const info: CheckpointInfo<P> = {
            sequence: saved.sequence,
            file: saved.file,
            position,
            stages: Object.keys(stages),
            stateBytes: stagesJson.length,
            snapshotMs: snapshotted - started,
            saveMs: performance.now() - snapshotted,
            reason,
          };
          this.checkpoints++;
          this.consecutiveFailures = 0;
          this.lastCheckpoint = info;
          if (this.ending !== 'running') this.savedLate(info);
          return info;
        });
      const current = { reason, landed: landing.then(() => true, () => false) };
      this.writing = current;
      const info = await landing.finally(() => {
        if (this.writing === current) this.writing = undefined;
      });
      // Release only what no kept checkpoint needs: a restart falls back to an older kept one when
      // the newest files are damaged, and must find the spool records it refers to.
      this.fallbacks.push(pick(stages, this.state.checkpointListeners()));
      while (this.fallbacks.length > this.keep) this.fallbacks.shift();
      this.state.checkpointed(this.fallbacks[0]!);
      // Only now: everything up to `position` is covered by a durable checkpoint.
      if (position !== undefined) await this.commit(position, info);
      this.logger.debug?.({ ...info }, `checkpoint #${info.sequence} saved (${reason})`);
      if (this.onCheckpoint) {
        try {
          this.onCheckpoint(info);
        } catch (error) {
          this.fail(error);
        }
      }
      return info;
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      if (this.abandoned && !writing) throw error; // counted when the stop gave up on it
      if (writing && reason === 'stop' && this.stopLeftItsSave) {
        // Counted when the stop returned without its outcome.
        this.stopLeftItsSave = false;
        this.logger.error({ directory: this.directory, error: error.message }, `the last checkpoint, still being written when stop() returned, failed: ${error.message}`);
        throw error;
      }
      this.failures++;
      this.consecutiveFailures++;
      const previous = this.lastCheckpoint?.sequence ?? this.restored?.sequence;
      const keeps = previous === undefined ? 'no checkpoint yet: a restart reads the source from its committed position' : `checkpoint #${previous} stays the one a restart resumes from`;
      const policy = this.failAfter > 0 ? `; the pipeline fails after ${this.failAfter} in a row` : '; retrying at the next interval';
      this.logger.error(
        { directory: this.directory, reason, consecutive: this.consecutiveFailures, total: this.failures, error: error.message },
        `checkpoint failed (${this.consecutiveFailures} in a row): ${error.message}; nothing is committed to the source, ${keeps}${policy}`,
      );
      this.report({ kind: 'checkpoint-failed', error, consecutive: this.consecutiveFailures });
      if (this.failAfter > 0 && this.consecutiveFailures >= this.failAfter && this.ending === 'running') {
        this.fail(new CheckpointError(`rxprom: ${this.consecutiveFailures} checkpoints in a row failed in ${this.directory} (option failAfterCheckpointFailures: ${this.failAfter}); last: ${error.message}`, undefined, { cause: error }));
      }
      throw error;
    }
  }

  /**
   * Tells the source a saved checkpoint covers `position`. A failure is not the checkpoint's: the
   * file is on disk and a restart resumes from it; the source only keeps more to deliver again.
   */
  private async commit(position: P, info: CheckpointInfo<P>): Promise<void> {
    try {
      await this.source.commit(position);
      this.consecutiveCommitFailures = 0;
    } catch (caught) {
      const error = caught instanceof Error ? caught : new Error(String(caught));
      this.consecutiveCommitFailures++;
      this.logger.warn(
        { directory: this.directory, sequence: info.sequence, position, error: error.message },
        `checkpoint #${info.sequence} is saved (a restart resumes from it) but the source's commit of position ${JSON.stringify(position)} failed: ${error.message}; the source may deliver again what the checkpoint covers, the next checkpoint commits again`,
      );
      this.report({ kind: 'commit-failed', error, sequence: info.sequence, consecutive: this.consecutiveCommitFailures });
      if (this.failAfter > 0 && this.consecutiveCommitFailures >= this.failAfter && this.ending === 'running') {
        this.fail(new CheckpointError(`rxprom: the source's commit failed after ${this.consecutiveCommitFailures} checkpoints in a row (option failAfterCheckpointFailures: ${this.failAfter}; the checkpoints are saved, checkpoint #${info.sequence} is the one a restart resumes from); last: ${error.message}`, undefined, { cause: error }));
      }
    }
  }

  /** A checkpoint that landed after the pipeline ended: the summary `done` gave does not show it. */
  private savedLate(info: CheckpointInfo<P>): void {
    if (info.reason === 'stop' && this.stopLeftItsSave) {
      // The stop counted it as failed when it returned without its outcome.
      this.stopLeftItsSave = false;
      this.failures--;
    }
    this.logger.warn(
      { directory: this.directory, sequence: info.sequence, file: info.file, reason: info.reason, position: info.position },
      `checkpoint #${info.sequence} (${info.reason}) saved late, after the pipeline had ${this.ending}: it is the one a restart resumes from (summary() shows it)`,
    );
  }

  private async complete(): Promise<void> {
    if (this.ending !== 'running') return;
    clearTimeout(this.timer);
    // Everything flowed out: the last checkpoint holds the end position and the stages' final state.
    try {
      await this.enqueue('completed');
    } catch {
      // counted and reported
    }
    if (this.ending === 'running') this.finish('completed');
  }

  private report(problem: DurableProblem): void {
    if (!this.onProblem) return;
    try {
      this.onProblem(problem);
    } catch (error) {
      this.fail(error);
    }
  }

  private fail(caught: unknown): void {
    if (this.ending !== 'running') return;
    this.error = caught instanceof Error ? caught : new Error(String(caught));
    this.logger.error({ directory: this.directory, error: this.error.message }, `the durable pipeline failed: ${this.error.message}`);
    this.finish('failed');
  }

  private finish(ending: 'completed' | 'stopped' | 'failed'): void {
    this.ending = ending;
    clearTimeout(this.timer);
    this.pressureSubscription?.unsubscribe();
    // Deferred when called from inside the subscribe call itself (a synchronous error or completion).
    const subscription = this.subscription;
    if (subscription) subscription.unsubscribe();
    else queueMicrotask(() => this.subscription?.unsubscribe());
    this.resolveDone(this.summary());
  }
}
