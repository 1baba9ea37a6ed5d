import { describe, expect, it } from 'vitest';
import { MockProvider, mockCompletion } from '../../src/modules/ai/providers/mock.js';
import { drain } from './helpers.js';

const MESSAGES = [
  { role: 'system' as const, content: 'You are a helpful assistant.' },
  { role: 'user' as const, content: 'Summarise the quarterly report in three bullets.' },
];

describe('mock provider', () => {
  it('answers from the input, in several chunks, naming itself', async () => {
    const stream = new MockProvider().stream(MESSAGES, { model: 'mock' });
    const { deltas, error } = await drain(stream);
    expect(error).toBeUndefined();
    const text = deltas.join('');
    expect(text).toBe(
      'Mock reply to "Summarise the quarterly report in three bullets.": 7 words in the last message, 2 messages in all, input digest ' +
        "36e568d02cff. This answer comes from Fleece's offline mock provider (model mock); no AI model was called.",
    );
    expect(deltas.length).toBeGreaterThanOrEqual(10);
    expect(deltas.every((d) => d.length > 0)).toBe(true);
    await expect(stream.result()).resolves.toEqual({
      provider: 'mock',
      model: 'mock',
      text,
      // 3 + (4 + 7) + (4 + 12) prompt tokens; the answer at ≈4 characters a token.
      usage: { inputTokens: 30, outputTokens: Math.ceil(text.length / 4) },
      finishReason: 'stop',
      attempts: 1,
    });
  });

  it('is deterministic: the same input gives the same chunks; another input another answer', async () => {
    const first = await drain(new MockProvider().stream(MESSAGES, { model: 'mock' }));
    const second = await drain(new MockProvider().stream(MESSAGES, { model: 'mock' }));
    expect(second.deltas).toEqual(first.deltas);
    expect(mockCompletion(MESSAGES, { model: 'mock' }).chunks).toEqual(first.deltas);
    const other = mockCompletion([...MESSAGES.slice(0, 1), { role: 'user', content: 'Hi' }], {
      model: 'mock',
    });
    expect(other.chunks.join('')).toMatch(/^Mock reply to "Hi": 1 word in the last message/);
    expect(mockCompletion(MESSAGES, { model: 'mock-premium' }).chunks.join('')).not.toBe(
      first.deltas.join(''),
    );
  });

  it('quotes at most 60 characters of a long message', () => {
    const long = 'word '.repeat(100);
    const text = mockCompletion([{ role: 'user', content: long }], { model: 'mock' }).chunks.join('');
    expect(text).toMatch(
      /^Mock reply to "(word ){11}word…": 100 words in the last message, 1 message in all/,
    );
  });

  it('honours maxOutputTokens: the answer is cut and finishes with length', async () => {
    const stream = new MockProvider().stream(MESSAGES, { model: 'mock', maxOutputTokens: 5 });
    await expect(stream.result()).resolves.toMatchObject({
      text: 'Mock reply to "Summa',
      usage: { inputTokens: 30, outputTokens: 5 },
      finishReason: 'length',
    });
  });

  it('cancels between chunks when the signal aborts', async () => {
    const controller = new AbortController();
    const stream = new MockProvider({ chunkDelayMs: 5 }).stream(MESSAGES, {
      model: 'mock',
      signal: controller.signal,
    });
    const deltas: string[] = [];
    await expect(
      (async () => {
        for await (const delta of stream) {
          deltas.push(delta);
          if (deltas.length === 2) controller.abort();
        }
      })(),
    ).rejects.toMatchObject({ code: 'provider_cancelled', provider: 'mock' });
    expect(deltas).toHaveLength(2);
    await expect(stream.result()).rejects.toMatchObject({ code: 'provider_cancelled', attempts: 1 });
  });

  it('can be iterated only once', async () => {
    const stream = new MockProvider().stream(MESSAGES, { model: 'mock' });
    await drain(stream);
    expect(() => stream[Symbol.asyncIterator]()).toThrow(/iterated only once/);
  });
});
