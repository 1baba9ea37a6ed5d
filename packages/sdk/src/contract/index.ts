/**
 * The Fleece wire contract: zod schemas shared by the server (validation, OpenAPI) and the SDK (response
 * validation, types). Import from `@fleece/sdk/contract`.
 */
export * from './account-deletion.js';
export * from './admin.js';
export * from './agents.js';
export * from './api-keys.js';
export * from './audit.js';
export * from './auth.js';
export * from './billing.js';
export * from './chat.js';
export * from './consents.js';
export * from './executions.js';
export * from './export.js';
export * from './flows.js';
export * from './health.js';
export * from './idempotency.js';
export * from './identity.js';
export * from './models.js';
export * from './pagination.js';
export * from './problem.js';
export * from './sessions.js';
export * from './streams.js';
export * from './webhooks.js';
