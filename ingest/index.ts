export { IngestConfig, IngestTopics, defaultIngestConfig, topicKind, type InputKind } from './config.js';
export { parseRecord, type ParseError, type ParseResult } from './parse.js';
export { IngestStage, ingestFactory, deadLetterMessage } from './stage.js';
export { parseTopology, loadTopologyFile, unknownDependencies, MAX_TOPOLOGY_BYTES } from './topology.js';
export { MIN_EPOCH_MS, MAX_EPOCH_MS } from './formats/time.js';
export { MAX_LISTED_ERRORS } from './formats/collect.js';
