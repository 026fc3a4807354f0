export { SecretRedactionConfig, SecretPattern, SecretScanner, defaultSecretRedaction, redactionTotals, secretMark } from './scanner.js';
export { SECRET_KEY_RE, GITLEAKS_VERSION, builtinRules } from './rules.js';
export { looksRandom, shannon } from './entropy.js';
