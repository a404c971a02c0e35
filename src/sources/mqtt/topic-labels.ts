/**
 * Topic → labels for a source's patterns, remembered per topic: a gateway sees the same few
 * thousand topics over and over, so each is split and matched once and every later message on it
 * gets the same frozen labels object (which the sink then recognises by identity).
 *
 * Bounded: at most `rememberTopics` distinct topics are held; past that, the oldest remembered
 * topic is forgotten (first in, first out, from a ring of the held topics: O(1) whatever the
 * bound). Why not least recently used: LRU must reorder its table on every hit, the hot path
 * taken by nearly every message, while FIFO's hit is one map lookup. Why not clearing
 * everything: that forgets the whole working set at once and rebuilds it in a burst.
 *
 * A miss that is remembered costs more than matching did before (the match, two freezes, a map
 * insert, an eviction, and the sample labels built again for the new object), and past the bound
 * misses can be the rule: devices publishing in turn over more topics than the bound make FIFO
 * miss on every message. So forgetting is watched: as soon as more than half the lookups of a
 * window of `REMEMBER_WINDOW` forgot a topic (so fewer than half were hits), new topics stop being
 * remembered for `PAUSE_WINDOWS` windows, then are tried again (a window that forgets little, as
 * when a few topics come and go, never pauses). While paused, a hit is still one lookup and a miss
 * is the match every message cost before (a fresh labels object, not frozen, not shared) plus one
 * failed lookup; the held topics stay, so a cycle over more topics than the bound still hits on
 * the part held. A try costs at most half a window of remembered misses per pause, a few percent.
 * Measured in bench/README.md, "MQTT".
 *
 * A topic that matches no pattern is not remembered: it is matched again each time and reports
 * its reason each time, and a stream of malformed topics never pushes good ones out.
 */
import { ConfigError } from '../../core/errors.js';
import { numberOption } from '../../core/options.js';
import { shareTopicLabels } from './shared-labels.js';
import { topicPattern, type TopicMatch, type TopicMismatch, type TopicPattern } from './topic-pattern.js';

/** Default of `rememberTopics`: distinct topics whose labels are kept. */
export const DEFAULT_REMEMBER_TOPICS = 65_536;
/** Largest `rememberTopics` accepted (about 16.7 million topics). */
export const MAX_REMEMBER_TOPICS = 2 ** 24;
/** Lookups over which the hit rate is judged. */
export const REMEMBER_WINDOW = 4096;
/** Windows during which new topics are not remembered once more than half a window's lookups forgot a topic. */
export const PAUSE_WINDOWS = 64;

export class TopicLabels {
  /** Topic → its match (frozen, with frozen labels). */
  private readonly remembered = new Map<string, TopicMatch>();
  /** The held topics in order of arrival, as a ring once full: `oldest` is the next forgotten. */
  private readonly ring: string[] = [];
  private oldest = 0;
  /** The most distinct topics held. */
  readonly rememberTopics: number;
  private forgottenCount = 0;
  private pausedCount = 0;
  /** Whether new topics are remembered now (false while paused for a low hit rate). */
  private remembering = true;
  /** Lookups left in the current window (or pause). */
  private lookupsLeft = REMEMBER_WINDOW;
  private windowForgotten = 0;

  /**
   * `patterns`: tried in order, the first that matches gives the labels. `rememberTopics`: the
   * most distinct topics kept (0 keeps none: every message is matched, as before). A bad value
   * throws a `ConfigError` naming `rememberTopics`.
   */
  constructor(
    readonly patterns: readonly TopicPattern[],
    rememberTopics: number | undefined = DEFAULT_REMEMBER_TOPICS,
  ) {
    if (!Array.isArray(patterns) || patterns.length === 0) throw new ConfigError('topics', 'a topic pattern or a non-empty array of them', patterns);
    this.rememberTopics = numberOption('rememberTopics', rememberTopics, DEFAULT_REMEMBER_TOPICS, { min: 0, max: MAX_REMEMBER_TOPICS });
  }

  /** Distinct topics held now (at most `rememberTopics`). */
  get size(): number {
    return this.remembered.size;
  }

  /** Topics forgotten so far to keep within `rememberTopics`: more than a few means the bound is too small for the topics seen. */
  get forgotten(): number {
    return this.forgottenCount;
  }

  /** Times remembering new topics was paused for a low hit rate while forgetting. */
  get pauses(): number {
    return this.pausedCount;
  }

  /** Whether a new topic would be remembered now. */
  get rememberingNow(): boolean {
    return this.remembering && this.rememberTopics > 0;
  }

  /**
   * The labels of the first pattern `topic` matches (the same frozen object each time while the
   * topic is remembered), or the first pattern's reason when it matches none.
   */
  match(topic: string): TopicMatch | TopicMismatch {
    if (--this.lookupsLeft === 0) this.nextWindow();
    const known = this.remembered.get(topic);
    if (known !== undefined) return known;
    let mismatch: TopicMismatch | undefined;
    for (const pattern of this.patterns) {
      const result = pattern.match(topic);
      if (result.matched) return this.remembering && this.rememberTopics > 0 ? this.remember(topic, result.labels) : result;
      mismatch ??= result;
    }
    return mismatch as TopicMismatch;
  }

  /** Ends a window or a pause: a new window, remembering. */
  private nextWindow(): void {
    this.remembering = true;
    this.lookupsLeft = REMEMBER_WINDOW;
    this.windowForgotten = 0;
  }

  /** More than half the window forgot a topic: stop remembering new ones for a while. */
  private pause(): void {
    this.remembering = false;
    this.pausedCount++;
    this.lookupsLeft = REMEMBER_WINDOW * PAUSE_WINDOWS;
  }

  private remember(topic: string, labels: Readonly<Record<string, string>>): TopicMatch {
    const frozen = Object.freeze(labels);
    shareTopicLabels(frozen);
    const match: TopicMatch = Object.freeze({ matched: true, labels: frozen });
    if (this.ring.length < this.rememberTopics) {
      this.ring.push(topic);
    } else {
      this.remembered.delete(this.ring[this.oldest]);
      this.ring[this.oldest] = topic;
      if (++this.oldest === this.rememberTopics) this.oldest = 0;
      this.forgottenCount++;
      if (++this.windowForgotten * 2 > REMEMBER_WINDOW) this.pause();
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
