/**
 * Per-request abort signals that follow one shared signal (the sink's), with a single listener on
 * the shared signal however many requests are in flight. Adding a listener per request to the
 * shared signal makes Node print `MaxListenersExceededWarning` beyond 10 concurrent requests
 * (e.g. more than 10 shards).
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Forgets the link; call when the request is over. */
  release(): void;
}

export class LinkedAbort {
  private readonly children = new WeakMap<AbortSignal, Set<AbortController>>();

  /** A fresh signal that aborts when `parent` does (at once if it already has). */
  link(parent: AbortSignal): LinkedSignal {
    const controller = new AbortController();
    if (parent.aborted) {
      controller.abort(parent.reason);
      return { signal: controller.signal, release: () => {} };
    }
    let live = this.children.get(parent);
    if (live === undefined) {
      const set = new Set<AbortController>();
      live = set;
      this.children.set(parent, set);
      parent.addEventListener('abort', () => {
        for (const child of set) child.abort(parent.reason);
        set.clear();
      }, { once: true });
    }
    live.add(controller);
    const set = live;
    return { signal: controller.signal, release: () => set.delete(controller) };
  }
}
