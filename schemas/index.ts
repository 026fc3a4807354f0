export * from './common.js';
export * from './events.js';
export * from './topology.js';
export * from './replay.js';
export * from './signal.js';
export * from './incident.js';
