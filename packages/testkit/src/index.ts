/**
 * The test kit of the SDK and CLI suites: msw set-up and handlers for the mocked API, fixtures that parse
 * against the contract (`@fleece/sdk/contract`), the fake clock the SDK waits on, real local HTTP servers,
 * and a real Fleece server with the browser-side sign-in steps.
 */
export * from './clock.js';
export * from './fixtures.js';
export * from './http.js';
export * from './msw.js';
export * from './real-server.js';
