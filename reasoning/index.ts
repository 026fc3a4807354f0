export * from './config.js';
export * from './ranker.js';
export * from './stage.js';
