/**
 * Logs per-sample drops without flooding: the first drop of each reason is logged at once, later
 * ones are summed and logged at most once per interval (by the next drop after it, or by
 * `logDue()`, which the sink calls every second, so a burst followed by quiet is logged too).
 */
import type { Logger } from '../core/logger.js';

export class DropLog {
  private readonly pending = new Map<string, { count: number; lastMessage: string }>();
  private readonly lastLogged = new Map<string, number>();

  constructor(
    private readonly logger: Logger,
    private readonly intervalMs = 10_000,
    private readonly now: () => number = Date.now,
  ) {}

  dropped(reason: string, message: string): void {
    const now = this.now();
    const last = this.lastLogged.get(reason);
    const entry = this.pending.get(reason);
    if (this.due(last, now)) {
      const count = (entry?.count ?? 0) + 1;
      this.pending.delete(reason);
      this.lastLogged.set(reason, now);
      this.logger.warn({ reason, samples: count, example: message }, `dropped ${count} sample(s): ${reason}`);
    } else if (entry) {
      entry.count++;
      entry.lastMessage = message;
    } else {
      this.pending.set(reason, { count: 1, lastMessage: message });
    }
  }

  /** Logs each sum whose interval has passed (a burst that no later drop of its reason follows). */
  logDue(): void {
    if (this.pending.size === 0) return;
    const now = this.now();
    for (const [reason, entry] of this.pending) {
      if (!this.due(this.lastLogged.get(reason), now)) continue;
      this.pending.delete(reason);
      this.lastLogged.set(reason, now);
      this.logger.warn({ reason, samples: entry.count, example: entry.lastMessage }, `dropped ${entry.count} sample(s): ${reason}`);
    }
  }

  /** Whether a reason last logged at `last` may be logged now: after the interval, or when the clock was stepped back past it (the interval runs from the new time). */
  private due(last: number | undefined, now: number): boolean {
    return last === undefined || now - last >= this.intervalMs || now < last;
  }

  /** Logs what is still summed up (on completion). */
  flush(): void {
    for (const [reason, entry] of this.pending) {
      this.logger.warn({ reason, samples: entry.count, example: entry.lastMessage }, `dropped ${entry.count} sample(s): ${reason}`);
    }
    this.pending.clear();
  }
}
