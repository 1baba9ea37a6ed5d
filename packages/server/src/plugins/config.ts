import fp from 'fastify-plugin';
import type { Config } from '../config.js';
import type { Clock } from '../lib/clock.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** The validated configuration of this process. */
    config: Config;
    /** Wall-clock time; tests substitute a controllable clock. */
    clock: Clock;
  }
}

/** Decorates the app with its configuration and clock. Registered first. */
export const configPlugin = fp<{ config: Config; clock: Clock }>(
  async (app, { config, clock }) => {
    app.decorate('config', config);
    app.decorate('clock', clock);
  },
  { name: 'fleece-config' },
);
