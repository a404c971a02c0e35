/**
 * The aggregations `tumblingWindow` computes, apart from their implementation: the public types
 * name these, and must not pull the sketch library's typings into a user's project.
 */

/** A scalar aggregation, or a quantile (0 ≤ q ≤ 1) estimated with a DDSketch. */
export type Aggregation = 'count' | 'sum' | 'min' | 'max' | 'avg' | 'first' | 'last' | { readonly quantile: number };
export type ScalarAggregation = Exclude<Aggregation, { quantile: number }>;
export const SCALARS: readonly ScalarAggregation[] = ['count', 'sum', 'min', 'max', 'avg', 'first', 'last'];
