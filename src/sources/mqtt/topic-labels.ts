/**
 * Topic → labels for a source's patterns, remembered per topic: a gateway sees the same few
 * thousand topics over and over, so each is split and matched once and every later message on it
 * gets the same frozen labels object (which the sink then recognises by identity).
 *
 * Bounded: at most `rememberTopics` distinct topics are held; past that, the oldest remembered
 * topic is forgotten (first in, first out). Why not least recently used: LRU must reorder its
 * table on every hit, the hot path taken by nearly every message, while FIFO's hit is one map
 * lookup; what FIFO gets wrong (a busy topic forgotten because it came early) costs one match when
 * that topic comes next, what every message cost before, and its labels are still right. Why not
 * clearing everything: that forgets the whole working set at once and rebuilds it in a burst.
 *
 * A topic that matches no pattern is not remembered: it is matched again each time and reports
 * its reason each time, and a stream of malformed topics never pushes good ones out.
 */
import { ConfigError } from '../../core/errors.js';
import { numberOption } from '../../core/options.js';
import { topicPattern, type TopicMatch, type TopicMismatch, type TopicPattern } from './topic-pattern.js';

/** Default of `rememberTopics`: distinct topics whose labels are kept. */
export const DEFAULT_REMEMBER_TOPICS = 65_536;
/** Largest `rememberTopics` accepted (about 16.7 million topics). */
export const MAX_REMEMBER_TOPICS = 2 ** 24;

export class TopicLabels {
  /** Topic → its match (frozen, with frozen labels); a Map iterates in insertion order: the oldest first. */
  private readonly remembered = new Map<string, TopicMatch>();
  /** The most distinct topics held. */
  readonly rememberTopics: number;
  private forgottenCount = 0;

  /**
   * `patterns`: tried in order, the first that matches gives the labels. `rememberTopics`: the
   * most distinct topics kept (0 keeps none: every message is matched, its labels still frozen).
   * A bad value throws a `ConfigError` naming `option`.
   */
  constructor(
    readonly patterns: readonly TopicPattern[],
    rememberTopics: number | undefined = DEFAULT_REMEMBER_TOPICS,
    option = 'rememberTopics',
  ) {
    if (!Array.isArray(patterns) || patterns.length === 0) throw new ConfigError('topics', 'a topic pattern or a non-empty array of them', patterns);
    this.rememberTopics = numberOption(option, rememberTopics, DEFAULT_REMEMBER_TOPICS, { min: 0, max: MAX_REMEMBER_TOPICS });
  }

  /** Distinct topics held now (at most `rememberTopics`). */
  get size(): number {
    return this.remembered.size;
  }

  /** Topics forgotten so far to keep within `rememberTopics`: more than a few means the bound is too small for the topics seen. */
  get forgotten(): number {
    return this.forgottenCount;
  }

  /**
   * The labels of the first pattern `topic` matches (the same frozen object each time while the
   * topic is remembered), or the first pattern's reason when it matches none.
   */
  match(topic: string): TopicMatch | TopicMismatch {
    const known = this.remembered.get(topic);
    if (known !== undefined) return known;
    let mismatch: TopicMismatch | undefined;
    for (const pattern of this.patterns) {
      const result = pattern.match(topic);
      if (result.matched) return this.remember(topic, result.labels);
      mismatch ??= result;
    }
    return mismatch as TopicMismatch;
  }

  private remember(topic: string, labels: Readonly<Record<string, string>>): TopicMatch {
    const match: TopicMatch = Object.freeze({ matched: true, labels: Object.freeze(labels) });
    if (this.rememberTopics === 0) return match;
    if (this.remembered.size >= this.rememberTopics) {
      // The oldest entry is the first in the map's order.
      const oldest = this.remembered.keys().next();
      if (oldest.done !== true) {
        this.remembered.delete(oldest.value);
        this.forgottenCount++;
      }
    }
    this.remembered.set(topic, match);
    return match;
  }
}

/**
 * Topic → labels for one pattern or several (as the source's `topics` option), remembering up to
 * `rememberTopics` topics (default 65,536); see `TopicLabels`. Bad patterns or a bad bound throw
 * a `ConfigError`.
 */
export function topicLabels(topics: string | readonly string[], rememberTopics?: number): TopicLabels {
  const list: readonly unknown[] = typeof topics === 'string' ? [topics] : topics;
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError('topics', 'a topic pattern or a non-empty array of them', topics);
  return new TopicLabels(list.map((pattern: unknown, i) => topicPattern(pattern, list.length === 1 ? 'topics' : `topics[${i}]`)), rememberTopics);
}
