import type { Clock } from '../lib/clock.js';
import { type Database, type Db, notify } from './client.js';

/**
 * The PostgreSQL channel on which every instance announces changes that per-instance caches must drop
 * (sessions, API keys, users, the `/api/v1/me` view). Payloads:
 *
 * - `s:<sessionId>`: that session changed (revoked);
 * - `k:<apiKeyId>`: that API key changed (revoked);
 * - `u:<userId>`: the user changed (status, role, plan, limits): every cached thing of theirs;
 * - `m:<userId>`: what `/api/v1/me` shows of the user changed (keys created or revoked, usage);
 * - anything else: drop everything.
 */
export const INVALIDATION_CHANNEL = 'fleece_invalidate';

/** A cache that listens to {@link Invalidations}. */
export interface InvalidationListener {
  /** Applies one payload (see {@link INVALIDATION_CHANNEL}). */
  invalidate(payload: string): void;
  /** Drops everything: notifications may have been missed (the listening connection was re-established). */
  reset(): void;
}

/**
 * Cache invalidation across instances through `LISTEN/NOTIFY`: a change is announced inside the
 * transaction that makes it ({@link announce}), so every instance hears it exactly when it commits; the
 * instance that made it also applies it locally at once ({@link afterCommit}) instead of waiting for its
 * own notification. After the listening connection reconnects, every listener is reset.
 */
export class Invalidations {
  private readonly listeners = new Set<InvalidationListener>();
  private unlisten: (() => Promise<void>) | undefined;

  constructor(private readonly database: Database) {}

  /** Subscribes to the channel. Call once at start-up. */
  async start(): Promise<void> {
    this.unlisten = await this.database.listen(INVALIDATION_CHANNEL, (payload) => this.dispatch(payload), {
      onReconnect: () => {
        for (const listener of this.listeners) listener.reset();
      },
    });
  }

  /** Unsubscribes (the app's `onClose`). */
  async stop(): Promise<void> {
    await this.unlisten?.();
  }

  /** Adds a listener. @returns a function that removes it. */
  subscribe(listener: InvalidationListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Sends `payload` inside `tx`: delivered to every instance when `tx` commits (nothing if it rolls back).
   * Pass the returned payload to {@link afterCommit} once the transaction has committed.
   */
  async announce(tx: Pick<Db, 'execute'>, payload: string): Promise<string> {
    await notify(tx, INVALIDATION_CHANNEL, payload);
    return payload;
  }

  /** Applies committed payloads on this instance at once (`undefined` entries are skipped). */
  afterCommit(...payloads: (string | undefined)[]): void {
    for (const payload of payloads) if (payload !== undefined) this.dispatch(payload);
  }

  private dispatch(payload: string): void {
    for (const listener of this.listeners) listener.invalidate(payload);
  }
}

/** Options of {@link InvalidatingCache}. */
export interface InvalidatingCacheOptions<V> {
  /** How long an entry is served, in ms; invalidations usually drop it sooner. */
  ttlMs: number;
  /** Most entries; the oldest is dropped first. */
  max: number;
  clock: Clock;
  /** Whether `payload` invalidates the entry `key` → `value`. */
  matches(payload: string, key: string, value: V): boolean;
}

/**
 * A per-instance cache whose entries expire after a TTL and are dropped by matching invalidations.
 * A load that raced an invalidation does not store its (possibly stale) result: every invalidation bumps an
 * epoch, and {@link load} stores only when the epoch did not move while it read.
 */
export class InvalidatingCache<V> implements InvalidationListener {
  private readonly entries = new Map<string, { value: V; cachedAt: number }>();
  /** Loads in progress: concurrent misses of one key share one read (no stampede on the database). */
  private readonly loading = new Map<string, { epoch: number; promise: Promise<V | undefined> }>();
  private epoch = 0;

  constructor(private readonly options: InvalidatingCacheOptions<V>) {}

  /** The fresh entry of `key`, if any. */
  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (!hit) return undefined;
    const now = this.options.clock.now().getTime();
    if (now - hit.cachedAt < this.options.ttlMs && now >= hit.cachedAt) return hit.value;
    this.entries.delete(key);
    return undefined;
  }

  /**
   * The fresh entry of `key`, or what `loader` reads (stored unless an invalidation arrived meanwhile, or it
   * is `undefined`). Concurrent misses of one key wait for the same read, unless an invalidation arrived
   * after it started (then they read again).
   */
  async load(key: string, loader: () => Promise<V | undefined>): Promise<V | undefined> {
    const hit = this.get(key);
    if (hit !== undefined) return hit;
    const pending = this.loading.get(key);
    if (pending && pending.epoch === this.epoch) return pending.promise;
    const epoch = this.epoch;
    const promise = loader().then(
      (value) => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
        if (value === undefined) this.entries.delete(key);
        else if (epoch === this.epoch) this.set(key, value);
        return value;
      },
      (error: unknown) => {
        if (this.loading.get(key)?.promise === promise) this.loading.delete(key);
        throw error;
      },
    );
    this.loading.set(key, { epoch, promise });
    return promise;
  }

  /** Stores `value` under `key` now. */
  set(key: string, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.options.max) {
      const oldest = this.entries.keys().next().value;
      if (oldest !== undefined) this.entries.delete(oldest);
    }
    this.entries.set(key, { value, cachedAt: this.options.clock.now().getTime() });
  }

  /** Drops `key`. */
  delete(key: string): void {
    this.epoch++;
    this.entries.delete(key);
  }

  /** Drops the entries that `payload` matches. */
  invalidate(payload: string): void {
    this.epoch++;
    for (const [key, entry] of this.entries) {
      if (this.options.matches(payload, key, entry.value)) this.entries.delete(key);
    }
  }

  /** Drops everything. */
  reset(): void {
    this.epoch++;
    this.entries.clear();
  }
}
