export * from './ndjson.js';
export * from './deadletters.js';
export * from './fanout.js';
