/**
 * The seam between the sink and the network, as Prometheus' `WriteClient`: the sink hands a
 * finished request body to a client and gets back the final answer. The axios client
 * (`AxiosWriteClient`) is the one rxprom ships; tests and users may inject their own through
 * `remoteWrite({ client })` (a scripted client needs no server).
 *
 * A client sends one request to its end: it retries per its own policy and resolves with the last
 * answer, never throwing for a status or a network error. It rejects only when `signal` aborts.
 */

/**
 * The final answer to one request. `attempts` counts every attempt made, retries and followed
 * redirects included.
 *
 * - `response`: the receiver's last answer. `body` is at most 1024 characters (a longer one ends
 *   in `...`). For a 3xx the client did not follow, `location` is its `Location` header and
 *   `message` says why it was not followed (another host, too many redirects, a loop, a method
 *   change); a 3xx is `fatal` to the sink.
 * - `network-error`: no answer (refused, reset, timeout, DNS). `code` is Node's or axios' error
 *   code; the axios client uses `ESIGNER` when the request signer threw or rejected (a failed
 *   attempt, retried like a network error).
 */
export type WriteResult =
  | {
      readonly kind: 'response';
      readonly status: number;
      readonly body: string;
      readonly attempts: number;
      readonly location?: string;
      readonly message?: string;
    }
  | { readonly kind: 'network-error'; readonly message: string; readonly code: string | undefined; readonly attempts: number };

/**
 * What a client uses of the `AbortSignal` it is given (a real `AbortSignal` is one). Declared here
 * so that rxprom's published types need neither Node's nor the DOM's typings.
 */
export interface WriteAbortSignal {
  readonly aborted: boolean;
  addEventListener(type: 'abort', listener: () => void, options?: { readonly once?: boolean }): void;
  removeEventListener(type: 'abort', listener: () => void): void;
}

export interface WriteClient {
  /** Sends one encoded (compressed) request body (a Node `Buffer` from rxprom's sink); resolves with the final answer. */
  send(body: Uint8Array, signal: WriteAbortSignal): Promise<WriteResult>;
  /** Releases connections and timers; called once when the sink's subscription ends. */
  close?(): void;
}
