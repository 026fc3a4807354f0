export * from './bm25.js';
export * from './kb.js';
export * from './retrieve.js';
