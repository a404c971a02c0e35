/**
 * `enrich`'s state in a checkpoint: the elements accepted but not yet emitted (waiting for their
 * own lookup, for an earlier element's, or for the first snapshot), in input order, as input
 * elements. A restored subscription processes them again before the source's next element, so
 * relative to the source position saved with the checkpoint none is lost and none emitted twice.
 * The lookup cache is not saved (it only saves lookups).
 */
import type { SavedOperatorState, SavedValue } from './state-codec.js';

export const ENRICH_STATE = { operator: 'enrich', version: 1 } as const;

export interface SavedEnrich extends SavedOperatorState {
  /** The elements as they are: user values, saved as JSON. */
  readonly waiting: unknown[];
}

export function loadEnrich<T>(saved: SavedValue): T[] {
  return saved.get('waiting').items().map((item) => item.raw() as T);
}
