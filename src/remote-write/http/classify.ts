/**
 * Classification of a remote-write response, as the spec, Prometheus' sender and the Flink
 * connector agree: what is written, what is worth retrying, what can never succeed.
 */
export type ResponseClass =
  /** 2xx: the request was written. */
  | 'written'
  /** 5xx, 429, network errors and timeouts: try the same request again after a backoff. */
  | 'retryable'
  /**
   * 401, 403, 404, and a 3xx the client did not follow (any redirect but 307/308, another host,
   * too many, a loop): the endpoint or the credentials are wrong; nothing will get through.
   */
  | 'fatal'
  /** Any other status: this request will never be accepted (e.g. 400 out of order). */
  | 'non-retryable';

export function classifyStatus(status: number): ResponseClass {
  if (status >= 200 && status < 300) return 'written';
  if (status === 429 || (status >= 500 && status < 600)) return 'retryable';
  if (status === 401 || status === 403 || status === 404) return 'fatal';
  // A client follows the redirects it can (307/308); one that reaches the sink would be dropped quietly otherwise.
  if (status >= 300 && status < 400) return 'fatal';
  return 'non-retryable';
}
