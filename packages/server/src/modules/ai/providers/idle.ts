import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * An idle timeout: calls `onIdle` once when `touch()` has not been called for `ms` milliseconds. The timer
 * starts at the first `touch()`, so the wait for response headers (bounded by the SDK's own timeout) is
 * not counted; `pause()` stops it while the consumer holds a delta, and the next `touch()` restarts it.
 * The timer does not keep the process alive.
 *
 * @example
 * const idle = new IdleTimer(30_000, () => controller.abort(new ProviderError('provider_idle_timeout', 'openai')));
 * for await (const event of upstream) idle.touch();
 * idle.stop();
 */
export class IdleTimer {
  #timer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  constructor(
    /** Allowed silence, in ms. */
    private readonly ms: number,
    private readonly onIdle: () => void,
  ) {}

  /** Records an event: the silence starts again from now. No effect after `stop()` or after firing. */
  touch(): void {
    if (this.#stopped) return;
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.#stopped = true;
      this.onIdle();
    }, this.ms);
    this.#timer.unref?.();
  }

  /** Suspends the timer until the next `touch()`. */
  pause(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  /** Disarms the timer for good. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}

/** A WHATWG `fetch`, as the provider SDKs take it. */
export type Fetch = (input: string | URL | Request, init?: RequestInit) => Promise<Response>;

/** The activity callback of the attempt whose upstream request is being made, if any. */
const activity = new AsyncLocalStorage<() => void>();

/**
 * Runs `fn` (which starts an upstream request through an {@link activityFetch}) so that the request's
 * response headers and every chunk of its body call `touch`. The SDKs swallow some events (Anthropic's
 * `ping` keep-alives, SSE comments), so counting bytes is the one way to see that the upstream is alive.
 */
export function withActivity<T>(touch: () => void, fn: () => T): T {
  return activity.run(touch, fn);
}

/**
 * Wraps `base` (default: the global `fetch`, looked up on every call so that test interceptors installed
 * later still apply) so that a request made inside {@link withActivity} reports its response headers and
 * each body chunk as activity. Other requests pass through untouched.
 */
export function activityFetch(base?: Fetch): Fetch {
  return async (input, init) => {
    const touch = activity.getStore();
    const response = await (base ?? globalThis.fetch)(input, init);
    if (!touch || !response.body) return response;
    touch();
    const body = response.body.pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, controller) {
          touch();
          controller.enqueue(chunk);
        },
      }),
    );
    return new Response(body, {
      status: response.status,
      statusText: response.statusText,
      headers: response.headers,
    });
  };
}
