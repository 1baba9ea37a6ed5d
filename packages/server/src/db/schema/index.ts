/**
 * The drizzle schema: one file per aggregate, re-exported here. Tables are singular-named in code and
 * snake_case in SQL.
 */
export * from './audit.js';
export * from './identity.js';
