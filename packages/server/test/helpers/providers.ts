import { ProviderError } from '../../src/modules/ai/providers/errors.js';
import { MockProvider } from '../../src/modules/ai/providers/mock.js';
import type {
  ChatMessage,
  ModelProvider,
  ProviderStream,
  StreamOptions,
} from '../../src/modules/ai/providers/types.js';

/**
 * The mock provider, except that a prompt whose last user message contains FAIL fails as an unavailable
 * provider would (`provider_unavailable`, before any delta). Plug it in with
 * `buildTestApp({ providers: { mock: new FailOnKeywordProvider() } })` to fail one chosen flow step.
 */
export class FailOnKeywordProvider implements ModelProvider {
  readonly id = 'mock' as const;
  private readonly inner = new MockProvider();
  stream(messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    const last = [...messages].reverse().find((m) => m.role === 'user')?.content ?? '';
    if (!last.includes('FAIL')) return this.inner.stream(messages, options);
    const error = new ProviderError('provider_unavailable', 'mock');
    const result = Promise.reject(error);
    result.catch(() => {});
    return {
      [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(error) }),
      result: () => result,
    };
  }
}

/**
 * A provider standing in for `mock`: sends `first`, then holds the call open until `release()` (then sends
 * `rest`) or until its signal aborts (then rejects with `provider_cancelled`, as the real adapters do).
 */
export class GatedProvider implements ModelProvider {
  readonly id = 'mock' as const;
  aborted = 0;
  calls = 0;
  private releaseGate!: () => void;
  private readonly gate = new Promise<void>((resolve) => {
    this.releaseGate = resolve;
  });
  private firstSent!: () => void;
  /** Resolves once the first delta has been handed out. */
  readonly started = new Promise<void>((resolve) => {
    this.firstSent = resolve;
  });

  constructor(
    private readonly first = 'Hello ',
    private readonly rest = 'world.',
  ) {}

  release(): void {
    this.releaseGate();
  }

  stream(_messages: readonly ChatMessage[], options: StreamOptions): ProviderStream {
    this.calls++;
    const self = this;
    let text = '';
    let settle!: {
      resolve: (v: Awaited<ReturnType<ProviderStream['result']>>) => void;
      reject: (e: unknown) => void;
    };
    const result = new Promise<Awaited<ReturnType<ProviderStream['result']>>>((resolve, reject) => {
      settle = { resolve, reject };
    });
    result.catch(() => {});
    async function* run(): AsyncGenerator<string> {
      try {
        text += self.first;
        yield self.first;
        self.firstSent();
        await new Promise<void>((resolve, reject) => {
          if (options.signal?.aborted) return reject(new ProviderError('provider_cancelled', 'mock'));
          options.signal?.addEventListener('abort', () => {
            self.aborted++;
            reject(new ProviderError('provider_cancelled', 'mock'));
          });
          void self.gate.then(resolve);
        });
        text += self.rest;
        yield self.rest;
        settle.resolve({
          provider: 'mock',
          model: options.model,
          text,
          usage: { inputTokens: 7, outputTokens: 3 },
          finishReason: 'stop',
          attempts: 1,
        });
      } catch (error) {
        settle.reject(error);
        throw error;
      } finally {
        // Leaving the loop early cancels the call, as with the real adapters.
        settle.reject(new ProviderError('provider_cancelled', 'mock'));
      }
    }
    const iterator = run();
    return { [Symbol.asyncIterator]: () => iterator, result: () => result };
  }
}
