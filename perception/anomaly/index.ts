export { DETECTOR_PRESETS, DetectorConfig, type DetectorPreset } from './config.js';
export {
  createDetector,
  restoreDetector,
  type AnomalyDetector,
  type DetectorResult,
} from './detector.js';
export { RollingWindow } from './window.js';
export { SeasonalProfile } from './seasonal.js';
export { BlockRange } from './range.js';
export { NOVELTY_FLOOR, NoveltyTracker } from './novelty.js';
