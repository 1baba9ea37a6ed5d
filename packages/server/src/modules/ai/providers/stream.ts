import { ProviderError, type ProviderErrorCode } from './errors.js';
import { type Fetch, IdleTimer } from './idle.js';
import { DEFAULT_RETRY_POLICY, type RetryPolicy, retryDelay, sleep } from './retry.js';
import type { FinishReason, ProviderId, ProviderStream, StreamResult, TokenUsage } from './types.js';

/** What an adapter's attempt gets from the stream engine. */
export interface AttemptContext {
  /**
   * Aborted when the caller cancels, the idle timeout fires or the consumer stops reading: pass it to the
   * upstream request so the connection closes at once.
   */
  signal: AbortSignal;
  /** Call when the response headers arrive and on every upstream event: (re)starts the idle timer. */
  touch(): void;
}

/** How an attempt that ran to completion ended. */
export interface AttemptOutcome {
  model: string;
  usage: TokenUsage;
  finishReason: FinishReason;
}

/**
 * One upstream call of an adapter: yields text deltas and returns the outcome. It throws (anything) on
 * failure; the adapter's `classify` turns that into a {@link ProviderError}. An attempt that ends without
 * a finish reason must throw, not return.
 */
export type Attempt = (context: AttemptContext) => AsyncGenerator<string, AttemptOutcome, undefined>;

/** A retry about to happen, in safe fields only (no prompt, output, body or key): for logs and metrics. */
export interface RetryEvent {
  provider: ProviderId;
  /** The attempt that failed, from 1. */
  attempt: number;
  code: ProviderErrorCode;
  status: number | undefined;
  /** The wait before the next attempt, in ms. */
  delayMs: number;
}

/** Options of {@link createProviderStream}. */
export interface StreamEngineOptions {
  provider: ProviderId;
  /** The caller's cancellation signal. */
  signal?: AbortSignal | undefined;
  /** Allowed upstream silence once the headers are in, in ms. */
  idleTimeoutMs: number;
  /** Default {@link DEFAULT_RETRY_POLICY}. */
  retry?: RetryPolicy | undefined;
  /** Maps whatever an attempt threw to a safe {@link ProviderError}. */
  classify: (error: unknown) => ProviderError;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  /** Waits between attempts (tests record the delays instead of sleeping). Rejects when `signal` aborts. */
  sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  /** Jitter source, [0, 1). */
  random?: (() => number) | undefined;
  /** Milliseconds since the epoch, for the retry budget. */
  now?: (() => number) | undefined;
}

/**
 * Builds a {@link ProviderStream} from an adapter's {@link Attempt}: retries (only before the first delta,
 * within the {@link RetryPolicy}), the idle timeout, prompt cancellation and the final result.
 *
 * Cancellation is prompt whatever the upstream does: every wait on the attempt races the abort, the
 * upstream request is aborted, and the iteration rejects with `provider_cancelled` without waiting for the
 * upstream to wind down.
 */
export function createProviderStream(attempt: Attempt, options: StreamEngineOptions): ProviderStream {
  return new EngineStream(attempt, options);
}

class EngineStream implements ProviderStream {
  #started = false;
  readonly #result: Promise<StreamResult>;
  #resolve!: (result: StreamResult) => void;
  #reject!: (error: ProviderError) => void;

  constructor(
    private readonly attempt: Attempt,
    private readonly options: StreamEngineOptions,
  ) {
    this.#result = new Promise<StreamResult>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    // A consumer that only iterates sees the failure there; result() still hands out the rejection.
    this.#result.catch(() => {});
  }

  [Symbol.asyncIterator](): AsyncIterator<string> {
    if (this.#started) {
      throw new Error('A provider stream can be iterated only once; use result() for its outcome.');
    }
    this.#started = true;
    return this.#run();
  }

  result(): Promise<StreamResult> {
    if (!this.#started) {
      const iterator = this[Symbol.asyncIterator]();
      void (async () => {
        try {
          while (!(await iterator.next()).done) {
            // Drained for the result; the text is collected there.
          }
        } catch {
          // The failure settles the result.
        }
      })();
    }
    return this.#result;
  }

  async *#run(): AsyncGenerator<string, void, undefined> {
    const { provider, classify, signal: caller } = this.options;
    const policy = this.options.retry ?? DEFAULT_RETRY_POLICY;
    const now = this.options.now ?? Date.now;
    const wait = this.options.sleep ?? sleep;
    const cancelled = () => new ProviderError('provider_cancelled', provider);

    const started = now();
    let text = '';
    let streamed = false;
    let settled = false;
    let attempts = 0;
    // Aborted when the caller cancels: ends the current attempt or backoff at once.
    const lifetime = new AbortController();
    const onCallerAbort = () => lifetime.abort(cancelled());
    caller?.addEventListener('abort', onCallerAbort, { once: true });
    const fail = (error: ProviderError): ProviderError => {
      const final = error.withAttempts(attempts);
      settled = true;
      this.#reject(final);
      return final;
    };

    try {
      if (caller?.aborted) throw fail(cancelled());
      for (;;) {
        attempts++;
        const controller = new AbortController();
        const forward = () => controller.abort(lifetime.signal.reason);
        lifetime.signal.addEventListener('abort', forward, { once: true });
        const idle = new IdleTimer(this.options.idleTimeoutMs, () =>
          controller.abort(new ProviderError('provider_idle_timeout', provider)),
        );
        const aborted = new Promise<never>((_, reject) => {
          controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true });
        });
        aborted.catch(() => {});
        const upstream = this.attempt({ signal: controller.signal, touch: () => idle.touch() });

        let outcome: AttemptOutcome | undefined;
        let failure: ProviderError | undefined;
        try {
          for (;;) {
            const step = await Promise.race([upstream.next(), aborted]);
            if (step.done) {
              outcome = step.value;
              break;
            }
            if (step.value === '') continue;
            // The consumer's pace is not upstream silence: the idle timer waits while it holds the delta.
            idle.pause();
            streamed = true;
            text += step.value;
            yield step.value;
            if (controller.signal.aborted) throw controller.signal.reason;
            idle.touch();
          }
        } catch (error) {
          failure = controller.signal.aborted
            ? (controller.signal.reason as ProviderError)
            : error instanceof ProviderError
              ? error
              : classify(error);
        } finally {
          idle.stop();
          lifetime.signal.removeEventListener('abort', forward);
          if (!outcome) {
            // Failed, cancelled or abandoned: close the upstream connection; never wait for it to wind down.
            if (!controller.signal.aborted) controller.abort(cancelled());
            upstream.return(undefined as never).catch(() => {});
          }
        }

        if (outcome) {
          settled = true;
          this.#resolve({
            provider,
            model: outcome.model,
            text,
            usage: outcome.usage,
            finishReason: outcome.finishReason,
            attempts,
          });
          return;
        }
        const delay =
          failure!.code === 'provider_cancelled'
            ? null
            : retryDelay(
                failure!,
                { attempts, elapsedMs: now() - started, streamed },
                policy,
                this.options.random,
              );
        if (delay === null) throw fail(failure!);
        this.options.onRetry?.({
          provider,
          attempt: attempts,
          code: failure!.code,
          status: failure!.status,
          delayMs: delay,
        });
        try {
          await wait(delay, lifetime.signal);
        } catch {
          throw fail(cancelled());
        }
      }
    } finally {
      caller?.removeEventListener('abort', onCallerAbort);
      if (!settled) {
        // The consumer stopped reading (break, return()): that cancels the call.
        lifetime.abort(cancelled());
        fail(cancelled());
      }
    }
  }
}

/** Options shared by the adapters of HTTP providers (OpenAI, Anthropic). */
export interface HttpProviderOptions {
  apiKey: string;
  /** The API's base URL, without a trailing slash. */
  baseURL: string;
  /** Per attempt, until the response headers arrive, in ms (the SDK's `timeout`). */
  timeoutMs: number;
  /** Default allowed silence of a streaming response, in ms; a call's `idleTimeoutMs` overrides it. */
  idleTimeoutMs: number;
  retry?: RetryPolicy | undefined;
  onRetry?: ((event: RetryEvent) => void) | undefined;
  sleep?: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  random?: (() => number) | undefined;
  /** The `fetch` under the SDK. Default: the global `fetch`, looked up per request. */
  fetch?: Fetch | undefined;
}
