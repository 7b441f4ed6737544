// Types of the ES module entry point (index.mjs): the same exports as the CommonJS one.
export * from './index.js';
