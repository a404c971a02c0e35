/**
 * Which outputs of a `tumblingWindow` input series could be another's too. Outputs of two input
 * series are one series only when their keys are equal, so equal after leaving out `quantile`:
 * that (its "class", a key or the name and a key of the other labels) is what the operator
 * registers per series, one for all of a series' quantile outputs. Equal classes are a possible
 * collision, checked exactly per window.
 */
import type { Labels } from '../../src/core/model.js';
import { encodeLabelsKey } from '../../src/core/series-key.js';
import { checkLabels, type CanonicalLabels } from '../../src/protocol/label-rules.js';
import type { Aggregation } from './aggregation.js';

/** Sets a label as an own property: a label named __proto__ stays a label instead of setting the prototype. */
export function setLabel(target: Record<string, string>, name: string, value: string): void {
  if (name === '__proto__') Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
  else target[name] = value;
}

/**
 * The output label sets of an input series, one per aggregation, frozen: the input's labels with
 * `__name__` from `outputName`, and for quantiles a `quantile` label (`String(q)`) in place of the
 * input's. Built by assignment (several times cheaper than entries + fromEntries; it runs once per new series).
 */
export function buildOutputs(input: Labels, metric: string, aggregations: readonly Aggregation[], outputName: (aggregation: Aggregation, metric: string) => string): Labels[] {
  const names = Object.keys(input).filter((name) => name !== '__name__');
  return aggregations.map((aggregation): Labels => {
    const own: Record<string, string> = {};
    for (const name of names) if (typeof aggregation !== 'object' || name !== 'quantile') setLabel(own, name, input[name]);
    setLabel(own, '__name__', outputName(aggregation, metric));
    if (typeof aggregation === 'object') setLabel(own, 'quantile', String(aggregation.quantile));
    return Object.freeze(own);
  });
}

/**
 * How outputs are checked: `'none'` (the default names, no quantiles: outputs never meet, their
 * suffixes are apart), `'quantile-labelled'` (the default names with quantiles: only outputs
 * with a `quantile` label can meet, as quantile outputs replace an input's label), `'all'`
 * (`names` given: any output can be another's).
 */
export type OutputCheck = 'none' | 'quantile-labelled' | 'all';

/** The series key of an output label set (empty values left out, as the sink sends it). */
export function outputKey(labels: Labels): string {
  return encodeLabelsKey(checkLabels(labels, 'off') as CanonicalLabels);
}

/** The series key of a label set without some of its labels. */
function keyWithout(labels: Labels, left: readonly string[]): string {
  const canonical = checkLabels(labels, 'off') as CanonicalLabels;
  if (!left.some((name) => canonical.names.includes(name))) return encodeLabelsKey(canonical);
  const kept = canonical.names.flatMap((name, i) => (left.includes(name) ? [] : [i]));
  return encodeLabelsKey({ names: kept.map((i) => canonical.names[i]), values: kept.map((i) => canonical.values[i]) });
}

/** The series key of a label set without its `quantile` label. */
export function keyWithoutQuantile(labels: Labels): string {
  return keyWithout(labels, ['quantile']);
}

/** A label's own value, '' when absent (an empty value is no label). */
function ownLabel(labels: Labels, name: string): string {
  return Object.prototype.hasOwnProperty.call(labels, name) ? labels[name] : '';
}

export interface OutputClasses {
  /** The distinct classes of the series' outputs that could meet another series' (see `OutputCheck`). */
  readonly classes: readonly string[];
  /** Two of the series' own outputs that are one series (only `names` does this), by index; else null. */
  readonly twice: readonly [number, number] | null;
}

const NONE: OutputClasses = { classes: [], twice: null };

/**
 * The classes of an input series' outputs. `inputKey` is the input's series key; `outputs` its
 * output label sets, one per aggregation, `isQuantile[i]` whether output i is a quantile;
 * `quantileLabels` the `quantile` label values the quantile outputs have.
 */
export function outputClasses(check: OutputCheck, input: Labels, inputKey: string, outputs: readonly Labels[], isQuantile: readonly boolean[], quantileLabels: ReadonlySet<string>): OutputClasses {
  if (check === 'none') return NONE;
  const firstQuantile = isQuantile.indexOf(true);
  if (check === 'quantile-labelled') {
    const inputQuantile = ownLabel(input, 'quantile');
    // Without a quantile label, the quantile outputs less theirs are the input itself: no key to make.
    const classes = firstQuantile === -1 ? [] : [inputQuantile === '' ? inputKey : keyWithoutQuantile(outputs[firstQuantile])];
    // A scalar output keeps the input's quantile label: it is a quantile output when that names an asked quantile.
    if (quantileLabels.has(inputQuantile)) {
      for (let i = 0; i < outputs.length; i++) if (!isQuantile[i]) classes.push(keyWithoutQuantile(outputs[i]));
    }
    return { classes: [...new Set(classes)], twice: null };
  }
  // An output less `quantile` is its name and the input's other labels: one key for those, made
  // once, after each output's name (its length first, so no name runs into the key).
  const rest = keyWithout(input, ['__name__', 'quantile']);
  const perOutput = outputs.map((labels) => {
    const name = String(labels['__name__']);
    return `${name.length}:${name}${rest}`;
  });
  let twice: [number, number] | null = null;
  for (let j = 1; j < outputs.length && twice === null; j++) {
    for (let i = 0; i < j; i++) {
      if (perOutput[i] === perOutput[j] && ownLabel(outputs[i], 'quantile') === ownLabel(outputs[j], 'quantile')) {
        twice = [i, j];
        break;
      }
    }
  }
  return { classes: [...new Set(perOutput)], twice };
}
