export * from './ndjson.js';
export * from './deadletters.js';
