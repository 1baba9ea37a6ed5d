/**
 * `@fleece/sdk`: the typed client for the Fleece API.
 *
 * The wire contract is re-exported here and available alone from `@fleece/sdk/contract`.
 */
export * from './contract/index.js';
