/**
 * `@fleece/server`: build the Fleece app in-process (`buildApp`), start it (`startServer`), or read its
 * configuration (`loadConfig`).
 */
export { type BuildAppOptions, buildApp } from './app.js';
export { type Config, ConfigError, loadConfig } from './config.js';
export { type Database, DatabaseLockedError, type Db } from './db/client.js';
export { openDatabase } from './db/open.js';
export { PROBLEMS, type ProblemCode, ProblemError } from './errors.js';
export { type Clock, systemClock } from './lib/clock.js';
export { startServer } from './server.js';
