/**
 * The drizzle schema: one file per aggregate, re-exported here. Tables are singular-named in code and
 * snake_case in SQL.
 */
export * from './account-deletions.js';
export * from './ai.js';
export * from './api-keys.js';
export * from './audit.js';
export * from './billing.js';
export * from './consents.js';
export * from './flows.js';
export * from './identity.js';
export * from './plans.js';
export * from './webhooks.js';
