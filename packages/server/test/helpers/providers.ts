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
