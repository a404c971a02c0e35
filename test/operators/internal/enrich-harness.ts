/** A strategy context for `enrich`'s strategy specs: an output that records what it emits, a resolve that joins `element:value`. */
import { Observable, type Subscriber } from 'rxjs';
import { EnrichOutput } from '../../../operators/internal/enrich-output.js';
import type { EnrichStrategyContext } from '../../../operators/internal/enrich-strategy.js';

export interface Harness {
  readonly context: EnrichStrategyContext<string, string, string, string>;
  readonly values: string[];
  readonly misses: Array<[string, string]>;
  readonly overflowed: string[];
  readonly state: { completed: boolean; error: unknown };
}

export function harness(maxWaiting = 100): Harness {
  const values: string[] = [];
  const misses: Array<[string, string]> = [];
  const overflowed: string[] = [];
  const state = { completed: false, error: undefined as unknown };
  let destination!: Subscriber<string>;
  new Observable<string>((subscriber) => void (destination = subscriber)).subscribe({
    next: (value) => void values.push(value),
    complete: () => void (state.completed = true),
    error: (error: unknown) => void (state.error = error),
  });
  const context: EnrichStrategyContext<string, string, string, string> = {
    destination,
    output: new EnrichOutput<string, string, string>(destination),
    resolve: (element, found, value, reason) => {
      if (found) return { emit: true, output: `${element}:${value}` };
      misses.push([element, reason]);
      return { emit: false, output: undefined };
    },
    joined: (element, value) => `${element}:${value}`,
    overflow: (element) => void overflowed.push(element),
    maxWaiting,
    guard: (work) => {
      try {
        work();
      } catch (error) {
        destination.error(error);
      }
    },
  };
  return { context, values, misses, overflowed, state };
}
