declare const __FLEECE_CLI_VERSION__: string | undefined;

/** The CLI's version: injected at build time, read from package.json when running from source. */
export const VERSION: string = typeof __FLEECE_CLI_VERSION__ === 'string' ? __FLEECE_CLI_VERSION__ : '0.1.0';
