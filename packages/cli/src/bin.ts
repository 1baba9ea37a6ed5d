#!/usr/bin/env node
import module from 'node:module';

// V8's compile cache (Node ≥ 22.1): the bundled SDK (undici, zod and the contract) is parsed and compiled
// once, then read from disk on later runs, which is most of a command's start-up. It lives in
// NODE_COMPILE_CACHE, else in the OS temporary directory; NODE_DISABLE_COMPILE_CACHE=1 turns it off, and
// a failure to use it only costs speed.
try {
  module.enableCompileCache?.();
} catch {
  // An unwritable cache directory: run without it.
}

// Everything else is loaded only now, so that it can come from the cache.
await import('./entry.js');
