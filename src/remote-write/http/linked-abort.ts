/**
 * Per-request abort signals that follow one shared signal (the sink's), with a single listener on
 * the shared signal however many requests are in flight. Adding a listener per request to the
 * shared signal makes Node print `MaxListenersExceededWarning` beyond 10 concurrent requests
 * (e.g. more than 10 shards). The listener is removed when the last linked request is released.
 */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Forgets the link; call when the request is over. */
  release(): void;
}

interface Links {
  readonly children: Set<AbortController>;
  readonly onAbort: () => void;
}

export class LinkedAbort {
  private readonly links = new Map<AbortSignal, Links>();

  /** A fresh signal that aborts when `parent` does (at once if it already has). */
  link(parent: AbortSignal): LinkedSignal {
    const controller = new AbortController();
    if (parent.aborted) {
      controller.abort(parent.reason);
      return { signal: controller.signal, release: () => {} };
    }
    let links = this.links.get(parent);
    if (links === undefined) {
      const children = new Set<AbortController>();
      const onAbort = (): void => {
        this.links.delete(parent);
        for (const child of children) child.abort(parent.reason);
        children.clear();
      };
      links = { children, onAbort };
      this.links.set(parent, links);
      parent.addEventListener('abort', onAbort, { once: true });
    }
    links.children.add(controller);
    const { children, onAbort } = links;
    return {
      signal: controller.signal,
      release: () => {
        if (!children.delete(controller) || children.size > 0) return;
        parent.removeEventListener('abort', onAbort);
        this.links.delete(parent);
      },
    };
  }

  /** Shared signals with a listener now (for tests). */
  get listening(): number {
    return this.links.size;
  }
}
