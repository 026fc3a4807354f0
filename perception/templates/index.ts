export { MinerConfig, TemplateMiner, type MatchResult, type TemplateInfo } from './miner.js';
export {
  WILDCARD,
  TYPED_PLACEHOLDER,
  classifyCore,
  isPlaceholder,
  maskMessage,
  maskToken,
  maskTokens,
  tokenize,
  type MaskKind,
  type PlaceholderStyle,
} from './mask.js';
