import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const production = {
  NODE_ENV: 'production',
  FLEECE_SECRET: 'a-production-secret-of-at-least-32-characters',
  FLEECE_PUBLIC_URL: 'https://fleece.example.com',
  FLEECE_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString('base64'),
};

function configError(env: Record<string, string>): ConfigError {
  try {
    loadConfig(env);
  } catch (error) {
    return error as ConfigError;
  }
  throw new Error('expected a ConfigError');
}

describe('AI provider configuration', () => {
  it('enables no real provider without keys, with default timeouts', () => {
    expect(loadConfig({}).ai).toEqual({
      openai: undefined,
      anthropic: undefined,
      defaultModel: 'mock',
      timeoutMs: 30_000,
      idleTimeoutMs: 60_000,
    });
  });

  it('treats blank values as unset', () => {
    expect(
      loadConfig({
        OPENAI_API_KEY: ' ',
        ANTHROPIC_API_KEY: '',
        FLEECE_DEFAULT_MODEL: '',
        OPENAI_BASE_URL: '',
      }).ai,
    ).toMatchObject({ openai: undefined, anthropic: undefined, defaultModel: 'mock' });
  });

  it('enables a provider by its key, at the official https endpoint by default', () => {
    const { ai } = loadConfig({ OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' });
    expect(ai.openai).toEqual({ apiKey: 'sk-test', baseURL: 'https://api.openai.com/v1', models: undefined });
    expect(ai.anthropic).toEqual({ apiKey: 'sk-ant-test', baseURL: 'https://api.anthropic.com' });
  });

  it('reaches an OpenAI-compatible server at OPENAI_BASE_URL, without a trailing slash', () => {
    const { ai } = loadConfig({ OPENAI_API_KEY: 'local', OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1/' });
    expect(ai.openai).toEqual({ apiKey: 'local', baseURL: 'http://127.0.0.1:11434/v1', models: undefined });
  });

  it('lists the models an OpenAI-compatible server offers, with optional context windows', () => {
    const { ai } = loadConfig({
      OPENAI_API_KEY: 'local',
      OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1',
      FLEECE_OPENAI_MODELS: 'llama3.2:3b=131072, qwen2.5:7b',
    });
    expect(ai.openai?.models).toEqual([
      { id: 'llama3.2:3b', contextWindow: 131_072 },
      { id: 'qwen2.5:7b', contextWindow: undefined },
    ]);
    expect(configError({ OPENAI_API_KEY: 'k', FLEECE_OPENAI_MODELS: 'llama=big' }).variable).toBe(
      'FLEECE_OPENAI_MODELS',
    );
  });

  it('refuses a provider base URL without its API key, naming the key', () => {
    const error = configError({ OPENAI_BASE_URL: 'http://127.0.0.1:11434/v1' });
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.variable).toBe('OPENAI_API_KEY');
    expect(error.message).toMatch(/OPENAI_BASE_URL is set, so the provider needs an API key/);
    expect(configError({ ANTHROPIC_BASE_URL: 'https://proxy.example' }).variable).toBe('ANTHROPIC_API_KEY');
  });

  it('refuses plain http to a provider off loopback in production (claim C2)', () => {
    const error = configError({
      ...production,
      OPENAI_API_KEY: 'sk-test',
      OPENAI_BASE_URL: 'http://user:pw@models.internal:8000/v1',
    });
    expect(error.variable).toBe('OPENAI_BASE_URL');
    expect(error.message).toBe(
      'Invalid environment variable OPENAI_BASE_URL: production sends prompts to AI providers over https only; plain http is accepted for a loopback address (127.0.0.1, ::1, localhost) (got plain http to models.internal:8000).',
    );
    expect(
      configError({ ...production, ANTHROPIC_API_KEY: 'k', ANTHROPIC_BASE_URL: 'http://anthropic.example' })
        .variable,
    ).toBe('ANTHROPIC_BASE_URL');
  });

  it('accepts plain http to a loopback model server in production, and https anywhere', () => {
    for (const url of ['http://127.0.0.1:11434/v1', 'http://[::1]:8000/v1', 'http://localhost:8000/v1']) {
      expect(
        loadConfig({ ...production, OPENAI_API_KEY: 'local', OPENAI_BASE_URL: url }).ai.openai?.baseURL,
      ).toBe(url);
    }
    expect(
      loadConfig({ ...production, OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'https://vllm.example/v1' }).ai.openai
        ?.baseURL,
    ).toBe('https://vllm.example/v1');
  });

  it('accepts plain http anywhere outside production', () => {
    expect(
      loadConfig({ OPENAI_API_KEY: 'k', OPENAI_BASE_URL: 'http://gpu-box:8000/v1' }).ai.openai?.baseURL,
    ).toBe('http://gpu-box:8000/v1');
  });

  it('refuses a malformed default model and out-of-range timeouts', () => {
    expect(configError({ FLEECE_DEFAULT_MODEL: 'gpt 4o' }).variable).toBe('FLEECE_DEFAULT_MODEL');
    expect(configError({ FLEECE_PROVIDER_TIMEOUT_MS: '0' }).variable).toBe('FLEECE_PROVIDER_TIMEOUT_MS');
    expect(configError({ FLEECE_PROVIDER_IDLE_TIMEOUT_MS: '600001' }).variable).toBe(
      'FLEECE_PROVIDER_IDLE_TIMEOUT_MS',
    );
    expect(
      loadConfig({ FLEECE_PROVIDER_TIMEOUT_MS: '5000', FLEECE_PROVIDER_IDLE_TIMEOUT_MS: '15000' }).ai,
    ).toMatchObject({ timeoutMs: 5_000, idleTimeoutMs: 15_000 });
  });

  it('defaults to the first standard model of the first enabled provider, mock without keys', () => {
    expect(loadConfig({}).ai.defaultModel).toBe('mock');
    expect(loadConfig({ ANTHROPIC_API_KEY: 'k' }).ai.defaultModel).toBe('claude-haiku-4-5');
    expect(loadConfig({ ANTHROPIC_API_KEY: 'k', OPENAI_API_KEY: 'k' }).ai.defaultModel).toBe('gpt-4o-mini');
    expect(
      loadConfig({ OPENAI_API_KEY: 'local', FLEECE_OPENAI_MODELS: 'qwen2.5:7b,llama3.2:3b' }).ai.defaultModel,
    ).toBe('qwen2.5:7b');
  });

  it('accepts a default model the configuration offers, and refuses one it does not', () => {
    expect(loadConfig({ FLEECE_DEFAULT_MODEL: 'mock-premium' }).ai.defaultModel).toBe('mock-premium');
    expect(
      loadConfig({
        OPENAI_API_KEY: 'local',
        FLEECE_OPENAI_MODELS: 'llama3.2:3b',
        FLEECE_DEFAULT_MODEL: 'llama3.2:3b',
      }).ai.defaultModel,
    ).toBe('llama3.2:3b');
    const error = configError({ FLEECE_DEFAULT_MODEL: 'gpt-4o-mini' });
    expect(error.variable).toBe('FLEECE_DEFAULT_MODEL');
    expect(error.message).toBe(
      'Invalid environment variable FLEECE_DEFAULT_MODEL: the configured providers offer no model "gpt-4o-mini"; expected one of mock, mock-premium (set the provider\'s API key, or FLEECE_OPENAI_MODELS for an OpenAI-compatible server).',
    );
  });

  it('never echoes a provider key in a configuration error', () => {
    const error = configError({ OPENAI_API_KEY: 'sk-secret-value', OPENAI_BASE_URL: 'ftp://x' });
    expect(error.variable).toBe('OPENAI_BASE_URL');
    expect(error.message).not.toContain('sk-secret-value');
  });
});
