/**
 * The seam between stateful stages and checkpoints. A pipeline that keeps state hands each
 * stateful stage (an operator, the sink) its own `StateSlot`; the stage's subscription takes the
 * state it should start from and attaches the functions a checkpoint calls. A pipeline without
 * slots behaves exactly as before: operators stay plain RxJS operators.
 *
 * Why no barrier: JavaScript runs the synchronous chain of operators to its end for each element,
 * so between two elements (in a timer, a promise callback) the state of every synchronous stage is
 * consistent with the source's last emitted position. A checkpoint therefore calls every stage's
 * `snapshot()` in one synchronous pass, then awaits their `flush()` (only asynchronous stages, such
 * as lookups in flight or spooled batches, need one), then writes the file, then tells each stage
 * `checkpointed()`.
 */
import { ConfigError } from '../core/errors.js';

/** What a stage's subscription attaches to its slot. */
export interface StageState<S> {
  /** The stage's state now, JSON-serialisable. Called synchronously, between two elements. */
  snapshot(): S;
  /** Awaited after every stage's snapshot, before the checkpoint is written: makes durable what the snapshot refers to (e.g. spooled batches). */
  flush?(): Promise<void>;
  /** The checkpoint holding `snapshot` is durable (e.g. spool segments before it may be released). */
  checkpointed?(snapshot: S): void;
}

/** One stage's place in a pipeline's state. */
export interface StateSlot<S> {
  /** Unique within the pipeline: the key of this stage's state in a checkpoint. */
  readonly name: string;
  /** The state restored for this stage, once: the first subscription takes it, later ones start empty. */
  take(): S | undefined;
  /** Attaches a subscription's state; returns the detach function (call it when the subscription closes). One subscription at a time. */
  attach(stage: StageState<S>): () => void;
}

/** The states of every stage, by slot name. */
export type StageSnapshots = Record<string, unknown>;

/**
 * The slots of one pipeline, in memory. The durable coordinator saves what `snapshot()` returns
 * together with the source's position and gives it back to the constructor on restart.
 */
export class PipelineState {
  private readonly slots = new Map<string, { restored: unknown; taken: boolean; stage: StageState<unknown> | undefined }>();

  constructor(private readonly restored: StageSnapshots = {}) {}

  /** The slot called `name`; each name once per pipeline. */
  slot<S>(name: string): StateSlot<S> {
    if (typeof name !== 'string' || name.length === 0) throw new ConfigError('slot name', 'a non-empty string', name);
    if (this.slots.has(name)) throw new ConfigError('slot name', 'unique within the pipeline', name);
    const entry = { restored: this.restored[name], taken: false, stage: undefined as StageState<unknown> | undefined };
    this.slots.set(name, entry);
    return {
      name,
      take: (): S | undefined => {
        if (entry.taken) return undefined;
        entry.taken = true;
        return entry.restored as S | undefined;
      },
      attach: (stage: StageState<S>): (() => void) => {
        if (entry.stage !== undefined) throw new Error(`rxprom: the stage with state slot "${name}" is already subscribed; a stage with state runs one subscription at a time`);
        const attached = stage as StageState<unknown>;
        entry.stage = attached;
        return () => {
          if (entry.stage === attached) entry.stage = undefined;
        };
      },
    };
  }

  /** Restored states no slot has taken yet (a stage renamed or removed since the checkpoint). */
  untaken(): string[] {
    const names = Object.keys(this.restored).filter((name) => !this.slots.get(name)?.taken);
    return names;
  }

  /** Every attached stage's state, in one synchronous pass. A slot with nothing attached keeps what it was restored with, if not yet taken. */
  snapshot(): StageSnapshots {
    const snapshots: StageSnapshots = {};
    for (const [name, entry] of this.slots) {
      if (entry.stage !== undefined) snapshots[name] = entry.stage.snapshot();
      else if (!entry.taken && entry.restored !== undefined) snapshots[name] = entry.restored;
    }
    return snapshots;
  }

  /** Awaits every attached stage's `flush()`. */
  async flush(): Promise<void> {
    await Promise.all([...this.slots.values()].map((entry) => entry.stage?.flush?.()));
  }

  /** Slot names whose attached stage wants `checkpointed()` (e.g. a sink releasing spool records). */
  checkpointListeners(): string[] {
    return [...this.slots].filter(([, entry]) => entry.stage?.checkpointed !== undefined).map(([name]) => name);
  }

  /** Tells every attached stage that the checkpoint holding `snapshots` is durable. */
  checkpointed(snapshots: StageSnapshots): void {
    for (const [name, entry] of this.slots) {
      if (entry.stage !== undefined && name in snapshots) entry.stage.checkpointed?.(snapshots[name]);
    }
  }
}
