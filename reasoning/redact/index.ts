export * from './patterns.js';
export * from './redactor.js';
