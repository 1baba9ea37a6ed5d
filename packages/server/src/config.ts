import { isIP } from 'node:net';
import { z } from 'zod';
import { deriveKey, encryptionKey, Keyring } from './lib/crypto.js';
import { ROUTE_LIMITS, type RouteLimitName } from './limits.js';
import { defaultModelOf, offeredModels } from './modules/ai/models/catalogue.js';

/** The value of `FLEECE_SECRET` used when none is given outside production. Production refuses it. */
export const DEVELOPMENT_SECRET = 'fleece-development-secret-do-not-use-in-production';

/**
 * HKDF `info` of the encryption key derived from `FLEECE_SECRET` when `FLEECE_ENCRYPTION_KEY` is unset
 * (never in production).
 */
export const ENCRYPTION_KEY_INFO = 'fleece-encryption-key-v1';

/** Thrown when the environment does not describe a valid configuration. `message` is one line. */
export class ConfigError extends Error {
  override name = 'ConfigError';
  constructor(
    /** The environment variable at fault. */
    readonly variable: string,
    message: string,
  ) {
    super(message);
  }
}

const blankToUndefined = (value: unknown) =>
  typeof value === 'string' && value.trim() === '' ? undefined : value;

const optionalString = z.preprocess(blankToUndefined, z.string().optional());

const boolean = (fallback: boolean) =>
  z.preprocess(
    blankToUndefined,
    z
      .enum(['true', 'false', '1', '0'], { error: 'expected true or false' })
      .default(fallback ? 'true' : 'false')
      .transform((v) => v === 'true' || v === '1'),
  );

const integer = (fallback: number, min: number, max: number) =>
  z.preprocess(
    blankToUndefined,
    z.coerce
      .number({ error: `expected an integer from ${min} to ${max}` })
      .int({ error: `expected an integer from ${min} to ${max}` })
      .min(min, { error: `expected an integer from ${min} to ${max}` })
      .max(max, { error: `expected an integer from ${min} to ${max}` })
      .default(fallback),
  );

const commaList = z.preprocess(
  blankToUndefined,
  z
    .string()
    .default('')
    .transform((v) =>
      v
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean),
    ),
);

const optionalUrl = z.preprocess(
  blankToUndefined,
  z.url({ protocol: /^https?$/, error: 'expected an absolute http(s) URL' }).optional(),
);

/** 32 random bytes in standard base64 (an AES-256 key), such as `openssl rand -base64 32` prints. */
const base64Key = z.string().refine((v) => /^[A-Za-z0-9+/]{43}=$/.test(v.trim()), {
  error: 'expected 32 random bytes in base64 (44 characters), such as the output of: openssl rand -base64 32',
});

/** An IPv4/IPv6 address, optionally with a prefix length valid for its family (`10.0.0.0/8`, `::1`). */
function isAddressOrCidr(value: string): boolean {
  const [address = '', prefix, ...rest] = value.split('/');
  const family = isIP(address);
  if (family === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (family === 4 ? 32 : 128);
}

/**
 * Every environment variable the server reads, with its default. This one schema is the only place that
 * reads `process.env`; docs/operations.md documents each variable.
 */
const EnvSchema = z
  .object({
    NODE_ENV: z.preprocess(
      blankToUndefined,
      z.enum(['development', 'production', 'test']).default('development'),
    ),
    HOST: z.preprocess(blankToUndefined, z.string().default('127.0.0.1')),
    PORT: integer(3000, 0, 65535),
    FLEECE_PUBLIC_URL: z.preprocess(
      blankToUndefined,
      z
        .url({
          protocol: /^https?$/,
          error: 'expected an absolute http(s) URL such as https://fleece.example.com',
        })
        .optional(),
    ),
    FLEECE_DATA_DIR: z.preprocess(blankToUndefined, z.string().default('./.fleece/data')),
    DATABASE_URL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^postgres(ql)?:\/\//, { error: 'expected a postgres:// or postgresql:// connection URL' })
        .optional(),
    ),
    DATABASE_POOL_MAX: integer(10, 1, 500),
    FLEECE_RATE_LIMIT_PER_MINUTE: integer(600, 1, 100_000_000),
    FLEECE_ROUTE_LIMITS: commaList.pipe(
      z.array(
        z.string().regex(new RegExp(`^(?:${Object.keys(ROUTE_LIMITS).join('|')})=[1-9]\\d{0,8}$`), {
          error: `expected a comma-separated list of name=max, such as agentExecute=20; names: ${Object.keys(ROUTE_LIMITS).join(', ')}`,
        }),
      ),
    ),
    REDIS_URL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^rediss?:\/\//, { error: 'expected a redis:// or rediss:// URL' })
        .optional(),
    ),
    FLEECE_SECRET: optionalString,
    FLEECE_ENCRYPTION_KEY: z.preprocess(blankToUndefined, base64Key.optional()),
    FLEECE_ENCRYPTION_KEYS_PREVIOUS: commaList.pipe(z.array(base64Key)),
    FLEECE_TLS_CERT: optionalString,
    FLEECE_TLS_KEY: optionalString,
    FLEECE_TRUST_PROXY: commaList.pipe(
      z.array(
        z
          .string()
          .refine(isAddressOrCidr, { error: 'expected a comma-separated list of IP addresses or CIDRs' }),
      ),
    ),
    FLEECE_CORS_ORIGINS: commaList.pipe(
      z.array(z.url({ error: 'expected a comma-separated list of origins such as https://app.example.com' })),
    ),
    FLEECE_BODY_LIMIT_BYTES: integer(1_048_576, 1_024, 104_857_600),
    FLEECE_SHUTDOWN_TIMEOUT_MS: integer(10_000, 0, 600_000),
    FLEECE_AUTO_MIGRATE: boolean(true),
    FLEECE_WORKERS: z.preprocess(
      blankToUndefined,
      z
        .enum(['inline', 'off'], {
          error: 'expected inline (run background jobs in this process) or off (a web-only instance)',
        })
        .default('inline'),
    ),
    FLEECE_WORKER_POLL_SECONDS: integer(2, 1, 300),
    FLEECE_SCHEDULE_CHECK_SECONDS: integer(30, 1, 45),
    FLEECE_GOOGLE_CLIENT_ID: optionalString,
    FLEECE_GOOGLE_CLIENT_SECRET: optionalString,
    FLEECE_GOOGLE_ISSUER: optionalUrl,
    FLEECE_GITHUB_CLIENT_ID: optionalString,
    FLEECE_GITHUB_CLIENT_SECRET: optionalString,
    FLEECE_GITHUB_OAUTH_URL: optionalUrl,
    FLEECE_GITHUB_API_URL: optionalUrl,
    FLEECE_ENTRA_CLIENT_ID: optionalString,
    FLEECE_ENTRA_CLIENT_SECRET: optionalString,
    FLEECE_ENTRA_TENANT: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9.-]{1,100}$/, {
          error: 'expected a tenant id, domain, common, organizations or consumers',
        })
        .default('common'),
    ),
    FLEECE_ENTRA_ISSUER: optionalUrl,
    RESEND_API_KEY: optionalString,
    FLEECE_EMAIL_FROM: z.preprocess(
      blankToUndefined,
      z.string().min(3, { error: 'expected a sender such as Fleece <login@fleece.example.com>' }).optional(),
    ),
    FLEECE_ADMIN_EMAILS: commaList.pipe(
      z.array(z.email({ error: 'expected a comma-separated list of email addresses' })),
    ),
    FLEECE_DELETION_GRACE_DAYS: integer(7, 1, 30),
    OPENAI_API_KEY: optionalString,
    OPENAI_BASE_URL: optionalUrl,
    FLEECE_OPENAI_MODELS: commaList.pipe(
      z.array(
        z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}(?:=[1-9]\d{0,7})?$/, {
          error:
            'expected a comma-separated list of model ids, each optionally with its context window in tokens, such as llama3.2:3b=131072,qwen2.5:7b',
        }),
      ),
    ),
    ANTHROPIC_API_KEY: optionalString,
    ANTHROPIC_BASE_URL: optionalUrl,
    FLEECE_DEFAULT_MODEL: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}$/, {
          error: 'expected a model id from GET /api/v1/models, such as gpt-4o-mini or mock',
        })
        .optional(),
    ),
    FLEECE_PROVIDER_TIMEOUT_MS: integer(30_000, 10, 600_000),
    FLEECE_PROVIDER_IDLE_TIMEOUT_MS: integer(60_000, 10, 600_000),
    FLEECE_WEBHOOK_ALLOW_LOOPBACK: boolean(false),
    FLEECE_WEBHOOK_TIMEOUT_MS: integer(10_000, 100, 60_000),
    FLEECE_EXPORT_STALL_TIMEOUT_MS: integer(30_000, 10, 600_000),
    FLEECE_EXPORT_CONCURRENCY: integer(2, 1, 100),
    STRIPE_SECRET_KEY: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^(sk|rk)_(test|live)_[A-Za-z0-9]+$/, {
          error: 'expected a Stripe secret or restricted key (sk_live_…, sk_test_…, rk_live_…, rk_test_…)',
        })
        .optional(),
    ),
    STRIPE_WEBHOOK_SECRET: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^whsec_[A-Za-z0-9+/=]+$/, {
          error: "expected the webhook endpoint's signing secret (whsec_…) from the Stripe dashboard",
        })
        .optional(),
    ),
    STRIPE_PRICE_PRO: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^price_[A-Za-z0-9]+$/, { error: 'expected a Stripe price id (price_…)' })
        .optional(),
    ),
    STRIPE_PRICE_BUSINESS: z.preprocess(
      blankToUndefined,
      z
        .string()
        .regex(/^price_[A-Za-z0-9]+$/, { error: 'expected a Stripe price id (price_…)' })
        .optional(),
    ),
    LOG_FORMAT: z.preprocess(blankToUndefined, z.enum(['json', 'pretty']).optional()),
    LOG_LEVEL: z.preprocess(
      blankToUndefined,
      z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    ),
  })
  .strip();

/** The validated, typed configuration of one server process. */
export interface Config {
  env: 'development' | 'production' | 'test';
  host: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** The origin the server is reached at by browsers, without a trailing slash. */
  publicUrl: string;
  /** PGlite data directory when `databaseUrl` is unset; `memory://` keeps it in memory. */
  dataDir: string;
  databaseUrl: string | undefined;
  databasePoolMax: number;
  redisUrl: string | undefined;
  /**
   * The default rate limit of every `/api/` route without a named limit, per minute, per route, per user
   * (or per IP when unauthenticated); API-key traffic has the plan's limits instead.
   */
  rateLimitPerMinute: number;
  /**
   * Deployment overrides of the named route limits' maximum (`FLEECE_ROUTE_LIMITS`), per the limit's own
   * window; a name that is absent keeps the documented value of `ROUTE_LIMITS`.
   */
  routeLimits: Partial<Record<RouteLimitName, number>>;
  /** Root secret for signing (cookies, tokens). At least 32 characters in production. */
  secret: string;
  /**
   * Keys of the data Fleece encrypts itself (AES-256-GCM envelopes, src/lib/crypto.ts): `current` is
   * `FLEECE_ENCRYPTION_KEY` (outside production, derived from the secret when unset) and seals new data;
   * `FLEECE_ENCRYPTION_KEYS_PREVIOUS` only open data sealed before a rotation.
   */
  encryption: Keyring;
  tls: { certFile: string; keyFile: string } | undefined;
  /** Proxies whose `X-Forwarded-For` is believed; empty means none. */
  trustProxy: string[];
  corsOrigins: string[];
  /** Maximum request body size in bytes. */
  bodyLimit: number;
  /** How long SIGTERM waits for in-flight requests, in ms. */
  shutdownTimeoutMs: number;
  autoMigrate: boolean;
  /**
   * Where background jobs (flow runs, schedules, purges) run: `inline` in this process (default), or `off`
   * for a web-only instance that only enqueues them; `fleece-server worker` runs them instead.
   */
  workers: 'inline' | 'off';
  /** How often an idle worker polls each queue for jobs, in seconds (pg-boss `pollingIntervalSeconds`). */
  workerPollSeconds: number;
  /**
   * How often an instance with workers checks the cron schedules, in seconds (pg-boss
   * `cronMonitorIntervalSeconds`; one instance per interval does the check).
   */
  scheduleCheckSeconds: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  /** `pretty` for people at a terminal, `json` for log collectors; unset picks by whether stdout is a TTY. */
  logFormat: 'json' | 'pretty' | undefined;
  /** OAuth / OIDC sign-in providers; each is present only when its client id and secret are both set. */
  oauth: OAuthConfig;
  /** Outgoing email: Resend when `resendApiKey` is set, otherwise the dev outbox (the server log). */
  email: { resendApiKey: string | undefined; from: string };
  /** Verified users with these addresses (lower-case) are made admins when they sign in. */
  adminEmails: string[];
  /**
   * Days between an account deletion request and its purge (`FLEECE_DELETION_GRACE_DAYS`, 1 to 30, default
   * 7): the window in which the user may cancel. Claim C28 promises removal within 30 days.
   */
  deletionGraceDays: number;
  /** AI model providers: which are enabled, where they are, and how long a call may take. */
  ai: AiConfig;
  /** Outbound webhook callbacks (src/modules/webhooks/). */
  webhooks: WebhookConfig;
  /** Data export (src/modules/export/): how long a client may stall, how many run at once. */
  exports: ExportConfig;
  /** Stripe billing; `undefined` (billing off: every billing route answers 503) unless all four are set. */
  billing: BillingConfig | undefined;
}

/**
 * Stripe billing (src/modules/billing/), on only when `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`,
 * `STRIPE_PRICE_PRO` and `STRIPE_PRICE_BUSINESS` are all set.
 *
 * - `secretKey`: the API key the server calls Stripe with (`sk_…` or a restricted `rk_…`);
 * - `webhookSecret`: the signing secret of the `POST /api/webhooks/stripe` endpoint (`whsec_…`);
 * - `prices`: the recurring Stripe price of each paid plan a user can buy (`price_…`); webhooks map a
 *   subscription's price back to the plan through this table;
 * - `successUrl` / `cancelUrl`: where Stripe Checkout sends the browser back to: the settings page's
 *   "Plan & billing" section on the public URL (`successUrl` carries Stripe's `{CHECKOUT_SESSION_ID}`
 *   template);
 * - `portalReturnUrl`: where the customer portal's "Return" link goes (the same section).
 */
export interface BillingConfig {
  secretKey: string;
  webhookSecret: string;
  prices: { pro: string; business: string };
  successUrl: string;
  cancelUrl: string;
  portalReturnUrl: string;
}

/**
 * Outbound webhook callbacks (a flow's `callbackUrl`; src/modules/webhooks/).
 *
 * - `allowLoopback` (`FLEECE_WEBHOOK_ALLOW_LOOPBACK`, default false): also deliver to the loopback
 *   addresses 127.0.0.1 and ::1 (`localhost`), for a receiver on the developer's own machine and for tests.
 *   Production refuses it. Private, link-local, metadata and other non-public ranges stay refused;
 * - `timeoutMs` (`FLEECE_WEBHOOK_TIMEOUT_MS`, default 10,000): how long one delivery attempt may take, from
 *   connecting until the answer's status and first bytes are read, in ms.
 */
export interface WebhookConfig {
  allowLoopback: boolean;
  timeoutMs: number;
}

/**
 * Data export (`GET /api/v1/export`; src/modules/export/).
 *
 * - `stallTimeoutMs` (`FLEECE_EXPORT_STALL_TIMEOUT_MS`, default 30,000, 10 to 600,000): how long one write
 *   may wait for the client's connection to drain, in ms. A client that stops reading for longer has its
 *   export aborted: the response is destroyed, the snapshot transaction rolled back and its pooled
 *   connection returned, and a failed `data.exported` recorded. Twice this value is also the export
 *   transaction's `idle_in_transaction_session_timeout` on PostgreSQL (the database-side backstop);
 * - `concurrency` (`FLEECE_EXPORT_CONCURRENCY`, default 2, 1 to 100): exports running at once on this
 *   instance; more answer 503 `export_busy` with `Retry-After`. Keep it well below `DATABASE_POOL_MAX`: on
 *   PostgreSQL each running export holds one pooled connection.
 */
export interface ExportConfig {
  stallTimeoutMs: number;
  concurrency: number;
}

/** One AI provider's credential and endpoint. `baseURL` has no trailing slash. */
export interface AiProviderConfig {
  apiKey: string;
  baseURL: string;
}

/**
 * AI model providers (src/modules/ai/providers/). A provider is enabled when its API key is set; the
 * offline `mock` provider is always enabled.
 *
 * - `openai`: `OPENAI_API_KEY` at `OPENAI_BASE_URL` (default `https://api.openai.com/v1`; any
 *   OpenAI-compatible server such as Ollama or vLLM); `models` (`FLEECE_OPENAI_MODELS`) replaces the
 *   catalogue's OpenAI models with the ones that server offers, `undefined` keeps them;
 * - `anthropic`: `ANTHROPIC_API_KEY` at `ANTHROPIC_BASE_URL` (default `https://api.anthropic.com`);
 * - `defaultModel`: the model used when a request names none: `FLEECE_DEFAULT_MODEL`, which must be one
 *   the configuration offers, else the first standard model of the first enabled provider (`mock` when
 *   no provider key is set);
 * - `timeoutMs`: per attempt, until the provider's response headers arrive, in ms;
 * - `idleTimeoutMs`: how long a streaming response may go without an event, in ms.
 */
export interface AiConfig {
  openai: (AiProviderConfig & { models: OpenAIModelListing[] | undefined }) | undefined;
  anthropic: AiProviderConfig | undefined;
  defaultModel: string;
  timeoutMs: number;
  idleTimeoutMs: number;
}

/**
 * One model an OpenAI-compatible server offers (`FLEECE_OPENAI_MODELS`): its id, and its context window in
 * tokens when given (else the catalogue's, for a known id, or a conservative default).
 */
export interface OpenAIModelListing {
  id: string;
  contextWindow: number | undefined;
}

/** Whether `url`'s host is a loopback address (`localhost`, `127.0.0.0/8` or `::1`). */
function isLoopbackUrl(url: string): boolean {
  const host = new URL(url).hostname;
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/** One OAuth provider's client registration. `issuer` overrides the provider's real issuer (tests). */
export interface OAuthClientConfig {
  clientId: string;
  clientSecret: string;
}

/**
 * Sign-in providers. Google and Entra ID are OpenID Connect providers found by discovery at `issuer`;
 * GitHub is plain OAuth 2.0 at `oauthUrl` plus its REST API at `apiUrl`.
 */
export interface OAuthConfig {
  google: (OAuthClientConfig & { issuer: string }) | undefined;
  github: (OAuthClientConfig & { oauthUrl: string; apiUrl: string }) | undefined;
  entra: (OAuthClientConfig & { issuer: string; tenant: string }) | undefined;
}

function describeIssue(issue: z.core.$ZodIssue, env: Record<string, string | undefined>): ConfigError {
  const variable = String(issue.path[0] ?? 'environment');
  const raw = env[variable];
  const got =
    raw === undefined
      ? 'it is unset'
      : `got ${JSON.stringify(raw.length > 60 ? `${raw.slice(0, 57)}...` : raw)}`;
  const sensitive = /SECRET|KEY|PASSWORD|DATABASE_URL|REDIS_URL/.test(variable);
  const expected = issue.message.replace(/^Invalid input: /, '');
  return new ConfigError(
    variable,
    `Invalid environment variable ${variable}: ${expected} (${sensitive ? 'value hidden' : got}).`,
  );
}

/**
 * Reads and validates the configuration from an environment (default `process.env`).
 *
 * Blank values count as unset. Unknown variables are ignored. Production also refuses to start without
 * `FLEECE_ENCRYPTION_KEY` (see {@link Config.encryption}).
 *
 * @throws {ConfigError} naming the first bad variable, what it expects and (unless it is a secret) what it
 *   got; in production also when `FLEECE_SECRET` is missing, shorter than 32 characters or the development
 *   default, when `FLEECE_PUBLIC_URL` is missing, when only one of the TLS files is given, when only one of
 *   an OAuth provider's client id and secret is given, when `RESEND_API_KEY` comes without
 *   `FLEECE_EMAIL_FROM`, or when `FLEECE_WEBHOOK_ALLOW_LOOPBACK` is on; always when an AI provider's base URL comes without its API key, and in
 *   production when one is plain `http` to anything but a loopback address (claim C2); when
 *   `FLEECE_DEFAULT_MODEL` names a model that the configured providers do not offer; when only some of
 *   `STRIPE_SECRET_KEY`, `STRIPE_WEBHOOK_SECRET`, `STRIPE_PRICE_PRO` and `STRIPE_PRICE_BUSINESS` are set, or
 *   both prices are the same.
 */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const parsed = EnvSchema.safeParse(env);
  if (!parsed.success) {
    throw describeIssue(parsed.error.issues[0]!, env);
  }
  const e = parsed.data;
  const production = e.NODE_ENV === 'production';

  if (production) {
    if (!e.FLEECE_SECRET) {
      throw new ConfigError(
        'FLEECE_SECRET',
        'Invalid environment variable FLEECE_SECRET: production needs a random secret of at least 32 characters (it is unset). Generate one with: openssl rand -base64 48',
      );
    }
    if (e.FLEECE_SECRET === DEVELOPMENT_SECRET || e.FLEECE_SECRET.length < 32) {
      throw new ConfigError(
        'FLEECE_SECRET',
        'Invalid environment variable FLEECE_SECRET: production refuses the development secret and secrets shorter than 32 characters. Generate one with: openssl rand -base64 48',
      );
    }
    if (!e.FLEECE_PUBLIC_URL) {
      throw new ConfigError(
        'FLEECE_PUBLIC_URL',
        'Invalid environment variable FLEECE_PUBLIC_URL: production needs the public origin, such as https://fleece.example.com (it is unset).',
      );
    }
    if (!e.FLEECE_ENCRYPTION_KEY) {
      throw new ConfigError(
        'FLEECE_ENCRYPTION_KEY',
        'Invalid environment variable FLEECE_ENCRYPTION_KEY: production needs a random 32-byte key in base64 (it is unset). Generate one with: openssl rand -base64 32',
      );
    }
  }
  if (Boolean(e.FLEECE_TLS_CERT) !== Boolean(e.FLEECE_TLS_KEY)) {
    const missing = e.FLEECE_TLS_CERT ? 'FLEECE_TLS_KEY' : 'FLEECE_TLS_CERT';
    throw new ConfigError(
      missing,
      `Invalid environment variable ${missing}: FLEECE_TLS_CERT and FLEECE_TLS_KEY go together; set both PEM file paths or neither.`,
    );
  }

  if (e.RESEND_API_KEY && !e.FLEECE_EMAIL_FROM) {
    throw new ConfigError(
      'FLEECE_EMAIL_FROM',
      'Invalid environment variable FLEECE_EMAIL_FROM: sending email through Resend (RESEND_API_KEY) needs a sender on a verified domain, such as Fleece <login@fleece.example.com> (it is unset).',
    );
  }
  const pairs = [
    ['FLEECE_GOOGLE_CLIENT_ID', 'FLEECE_GOOGLE_CLIENT_SECRET'],
    ['FLEECE_GITHUB_CLIENT_ID', 'FLEECE_GITHUB_CLIENT_SECRET'],
    ['FLEECE_ENTRA_CLIENT_ID', 'FLEECE_ENTRA_CLIENT_SECRET'],
  ] as const;
  for (const [id, secret] of pairs) {
    if (Boolean(e[id]) !== Boolean(e[secret])) {
      const missing = e[id] ? secret : id;
      throw new ConfigError(
        missing,
        `Invalid environment variable ${missing}: ${id} and ${secret} go together; set both to enable the provider, or neither.`,
      );
    }
  }

  const providers = [
    ['OPENAI_BASE_URL', 'OPENAI_API_KEY', e.OPENAI_BASE_URL, e.OPENAI_API_KEY],
    ['ANTHROPIC_BASE_URL', 'ANTHROPIC_API_KEY', e.ANTHROPIC_BASE_URL, e.ANTHROPIC_API_KEY],
  ] as const;
  for (const [urlVariable, keyVariable, url, key] of providers) {
    if (url && !key) {
      throw new ConfigError(
        keyVariable,
        `Invalid environment variable ${keyVariable}: ${urlVariable} is set, so the provider needs an API key; a server without authentication accepts any value, such as "local" (it is unset).`,
      );
    }
    // Claim C2: prompts leave the server over TLS only; plain http is for a model server on this machine.
    if (production && url?.startsWith('http:') && !isLoopbackUrl(url)) {
      throw new ConfigError(
        urlVariable,
        `Invalid environment variable ${urlVariable}: production sends prompts to AI providers over https only; plain http is accepted for a loopback address (127.0.0.1, ::1, localhost) (got plain http to ${new URL(url).host}).`,
      );
    }
  }

  const openai = e.OPENAI_API_KEY
    ? {
        apiKey: e.OPENAI_API_KEY,
        baseURL: (e.OPENAI_BASE_URL ?? 'https://api.openai.com/v1').replace(/\/+$/, ''),
        models:
          e.FLEECE_OPENAI_MODELS.length > 0
            ? e.FLEECE_OPENAI_MODELS.map((entry) => {
                const [id, tokens] = entry.split('=') as [string, string | undefined];
                return { id, contextWindow: tokens === undefined ? undefined : Number(tokens) };
              })
            : undefined,
      }
    : undefined;
  const anthropic = e.ANTHROPIC_API_KEY
    ? {
        apiKey: e.ANTHROPIC_API_KEY,
        baseURL: (e.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com').replace(/\/+$/, ''),
      }
    : undefined;
  const offered = offeredModels({ openai, anthropic });
  if (e.FLEECE_DEFAULT_MODEL && !offered.some((m) => m.id === e.FLEECE_DEFAULT_MODEL)) {
    throw new ConfigError(
      'FLEECE_DEFAULT_MODEL',
      `Invalid environment variable FLEECE_DEFAULT_MODEL: the configured providers offer no model ${JSON.stringify(e.FLEECE_DEFAULT_MODEL)}; expected one of ${offered.map((m) => m.id).join(', ')} (set the provider's API key, or FLEECE_OPENAI_MODELS for an OpenAI-compatible server).`,
    );
  }

  const stripe = [
    ['STRIPE_SECRET_KEY', e.STRIPE_SECRET_KEY],
    ['STRIPE_WEBHOOK_SECRET', e.STRIPE_WEBHOOK_SECRET],
    ['STRIPE_PRICE_PRO', e.STRIPE_PRICE_PRO],
    ['STRIPE_PRICE_BUSINESS', e.STRIPE_PRICE_BUSINESS],
  ] as const;
  const stripeMissing = stripe.find(([, value]) => !value);
  if (stripeMissing && stripe.some(([, value]) => value)) {
    throw new ConfigError(
      stripeMissing[0],
      `Invalid environment variable ${stripeMissing[0]}: Stripe billing needs STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET, STRIPE_PRICE_PRO and STRIPE_PRICE_BUSINESS together; set all four to enable billing, or none to leave it off (it is unset).`,
    );
  }
  if (e.STRIPE_PRICE_PRO && e.STRIPE_PRICE_PRO === e.STRIPE_PRICE_BUSINESS) {
    throw new ConfigError(
      'STRIPE_PRICE_BUSINESS',
      'Invalid environment variable STRIPE_PRICE_BUSINESS: each plan needs its own Stripe price; it equals STRIPE_PRICE_PRO, so webhooks could not tell the plans apart.',
    );
  }

  if (production && e.FLEECE_WEBHOOK_ALLOW_LOOPBACK) {
    throw new ConfigError(
      'FLEECE_WEBHOOK_ALLOW_LOOPBACK',
      'Invalid environment variable FLEECE_WEBHOOK_ALLOW_LOOPBACK: production never delivers webhook callbacks to loopback addresses (it is for development and tests); unset it.',
    );
  }

  const scheme = e.FLEECE_TLS_CERT ? 'https' : 'http';
  const publicUrl = (
    e.FLEECE_PUBLIC_URL ?? `${scheme}://${e.HOST.includes(':') ? `[${e.HOST}]` : e.HOST}:${e.PORT}`
  ).replace(/\/+$/, '');

  return {
    env: e.NODE_ENV,
    host: e.HOST,
    port: e.PORT,
    publicUrl,
    dataDir: e.FLEECE_DATA_DIR,
    databaseUrl: e.DATABASE_URL,
    databasePoolMax: e.DATABASE_POOL_MAX,
    redisUrl: e.REDIS_URL,
    rateLimitPerMinute: e.FLEECE_RATE_LIMIT_PER_MINUTE,
    routeLimits: Object.fromEntries(
      e.FLEECE_ROUTE_LIMITS.map((entry) => {
        const [name, max] = entry.split('=') as [RouteLimitName, string];
        return [name, Number(max)];
      }),
    ),
    secret: e.FLEECE_SECRET ?? DEVELOPMENT_SECRET,
    encryption: new Keyring(
      encryptionKey(
        e.FLEECE_ENCRYPTION_KEY
          ? Buffer.from(e.FLEECE_ENCRYPTION_KEY.trim(), 'base64')
          : deriveKey(e.FLEECE_SECRET ?? DEVELOPMENT_SECRET, ENCRYPTION_KEY_INFO),
      ),
      e.FLEECE_ENCRYPTION_KEYS_PREVIOUS.map((k) => encryptionKey(Buffer.from(k.trim(), 'base64'))),
    ),
    tls:
      e.FLEECE_TLS_CERT && e.FLEECE_TLS_KEY
        ? { certFile: e.FLEECE_TLS_CERT, keyFile: e.FLEECE_TLS_KEY }
        : undefined,
    trustProxy: e.FLEECE_TRUST_PROXY,
    corsOrigins: e.FLEECE_CORS_ORIGINS.map((o) => new URL(o).origin),
    bodyLimit: e.FLEECE_BODY_LIMIT_BYTES,
    shutdownTimeoutMs: e.FLEECE_SHUTDOWN_TIMEOUT_MS,
    autoMigrate: e.FLEECE_AUTO_MIGRATE,
    workers: e.FLEECE_WORKERS,
    workerPollSeconds: e.FLEECE_WORKER_POLL_SECONDS,
    scheduleCheckSeconds: e.FLEECE_SCHEDULE_CHECK_SECONDS,
    logLevel: e.LOG_LEVEL,
    logFormat: e.LOG_FORMAT,
    oauth: {
      google:
        e.FLEECE_GOOGLE_CLIENT_ID && e.FLEECE_GOOGLE_CLIENT_SECRET
          ? {
              clientId: e.FLEECE_GOOGLE_CLIENT_ID,
              clientSecret: e.FLEECE_GOOGLE_CLIENT_SECRET,
              issuer: e.FLEECE_GOOGLE_ISSUER ?? 'https://accounts.google.com',
            }
          : undefined,
      github:
        e.FLEECE_GITHUB_CLIENT_ID && e.FLEECE_GITHUB_CLIENT_SECRET
          ? {
              clientId: e.FLEECE_GITHUB_CLIENT_ID,
              clientSecret: e.FLEECE_GITHUB_CLIENT_SECRET,
              oauthUrl: (e.FLEECE_GITHUB_OAUTH_URL ?? 'https://github.com').replace(/\/+$/, ''),
              apiUrl: (e.FLEECE_GITHUB_API_URL ?? 'https://api.github.com').replace(/\/+$/, ''),
            }
          : undefined,
      entra:
        e.FLEECE_ENTRA_CLIENT_ID && e.FLEECE_ENTRA_CLIENT_SECRET
          ? {
              clientId: e.FLEECE_ENTRA_CLIENT_ID,
              clientSecret: e.FLEECE_ENTRA_CLIENT_SECRET,
              tenant: e.FLEECE_ENTRA_TENANT,
              issuer:
                e.FLEECE_ENTRA_ISSUER ?? `https://login.microsoftonline.com/${e.FLEECE_ENTRA_TENANT}/v2.0`,
            }
          : undefined,
    },
    email: {
      resendApiKey: e.RESEND_API_KEY,
      from: e.FLEECE_EMAIL_FROM ?? 'Fleece <login@fleece.invalid>',
    },
    adminEmails: e.FLEECE_ADMIN_EMAILS.map((a) => a.toLowerCase()),
    deletionGraceDays: e.FLEECE_DELETION_GRACE_DAYS,
    ai: {
      openai,
      anthropic,
      defaultModel: e.FLEECE_DEFAULT_MODEL ?? defaultModelOf(offered),
      timeoutMs: e.FLEECE_PROVIDER_TIMEOUT_MS,
      idleTimeoutMs: e.FLEECE_PROVIDER_IDLE_TIMEOUT_MS,
    },
    webhooks: {
      allowLoopback: e.FLEECE_WEBHOOK_ALLOW_LOOPBACK,
      timeoutMs: e.FLEECE_WEBHOOK_TIMEOUT_MS,
    },
    exports: {
      stallTimeoutMs: e.FLEECE_EXPORT_STALL_TIMEOUT_MS,
      concurrency: e.FLEECE_EXPORT_CONCURRENCY,
    },
    billing:
      e.STRIPE_SECRET_KEY && e.STRIPE_WEBHOOK_SECRET && e.STRIPE_PRICE_PRO && e.STRIPE_PRICE_BUSINESS
        ? {
            secretKey: e.STRIPE_SECRET_KEY,
            webhookSecret: e.STRIPE_WEBHOOK_SECRET,
            prices: { pro: e.STRIPE_PRICE_PRO, business: e.STRIPE_PRICE_BUSINESS },
            successUrl: `${publicUrl}/settings?checkout=success&session_id={CHECKOUT_SESSION_ID}#billing`,
            cancelUrl: `${publicUrl}/settings?checkout=cancelled#billing`,
            portalReturnUrl: `${publicUrl}/settings#billing`,
          }
        : undefined,
  };
}
