/**
 * MQTT topic patterns with named levels: `sensors/{site}/{room}/{device}` subscribes to
 * `sensors/+/+/+` and turns `sensors/lyon/r1/d7` into `{ site: 'lyon', room: 'r1', device: 'd7' }`.
 * `+` is an unnamed single level, `#` (last only) any number of trailing levels, as in MQTT.
 */
import { ConfigError } from '../../core/errors.js';
import { LABEL_NAME } from '../../protocol/label-rules.js';

type Level = { readonly kind: 'literal'; readonly text: string } | { readonly kind: 'named'; readonly name: string } | { readonly kind: 'single' } | { readonly kind: 'rest' };

/** Why a topic did not match. */
export type TopicMismatch = { readonly matched: false; readonly reason: string };
export type TopicMatch = { readonly matched: true; readonly labels: Readonly<Record<string, string>> };

export interface TopicPattern {
  /** The pattern as written. */
  readonly pattern: string;
  /** The MQTT subscription filter (named levels as `+`). */
  readonly filter: string;
  /** The label names, in level order. */
  readonly labelNames: readonly string[];
  match(topic: string): TopicMatch | TopicMismatch;
}

/**
 * Parses `pattern`; a malformed one throws a `ConfigError` naming `option` (a name that is not a
 * label name, a name used twice, `#` not last, a wildcard or brace inside a level's text, an
 * empty pattern).
 */
export function topicPattern(pattern: unknown, option = 'topics'): TopicPattern {
  const expected = 'an MQTT topic pattern such as "sensors/{site}/{room}/{device}" (levels: text, {label}, +, and # last)';
  if (typeof pattern !== 'string' || pattern.length === 0) throw new ConfigError(option, expected, pattern);
  const levels: Level[] = [];
  const names = new Set<string>();
  const parts = pattern.split('/');
  parts.forEach((part, index) => {
    const named = /^\{(.*)\}$/.exec(part);
    if (named) {
      const name = named[1];
      if (!LABEL_NAME.test(name) || name.startsWith('__')) {
        throw new ConfigError(option, `${expected}; "{${name}}" is not a label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)`, pattern);
      }
      if (names.has(name)) throw new ConfigError(option, `${expected}; label "${name}" is named twice`, pattern);
      names.add(name);
      levels.push({ kind: 'named', name });
    } else if (part === '+') {
      levels.push({ kind: 'single' });
    } else if (part === '#') {
      if (index !== parts.length - 1) throw new ConfigError(option, `${expected}; "#" must be the last level`, pattern);
      levels.push({ kind: 'rest' });
    } else if (/[+#{}\u0000]/.test(part)) {
      throw new ConfigError(option, `${expected}; level "${part}" mixes text with a wildcard or brace`, pattern);
    } else {
      levels.push({ kind: 'literal', text: part });
    }
  });
  const filter = levels.map((level) => (level.kind === 'literal' ? level.text : level.kind === 'rest' ? '#' : '+')).join('/');
  const labelNames = levels.flatMap((level) => (level.kind === 'named' ? [level.name] : []));
  const rest = levels.at(-1)?.kind === 'rest';
  const fixed = rest ? levels.length - 1 : levels.length;

  return {
    pattern,
    filter,
    labelNames,
    match(topic) {
      const topicLevels = topic.split('/');
      if (rest ? topicLevels.length < fixed : topicLevels.length !== fixed) {
        return { matched: false, reason: `has ${topicLevels.length} levels; pattern "${pattern}" needs ${rest ? `at least ${fixed}` : fixed}` };
      }
      const labels: Record<string, string> = {};
      for (let i = 0; i < fixed; i++) {
        const level = levels[i];
        const text = topicLevels[i];
        if (level.kind === 'literal') {
          if (text !== level.text) return { matched: false, reason: `level ${i + 1} is "${text}", pattern "${pattern}" needs "${level.text}"` };
        } else if (level.kind === 'named') {
          // An empty label value would be no label at all in Prometheus: refuse rather than merge series.
          if (text.length === 0) return { matched: false, reason: `level ${i + 1} ({${level.name}}) is empty` };
          labels[level.name] = text;
        }
      }
      return { matched: true, labels };
    },
  };
}
