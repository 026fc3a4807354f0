export {
  DetectorConfig,
  createDetector,
  restoreDetector,
  type AnomalyDetector,
  type DetectorResult,
} from './detector.js';
export { RollingWindow } from './window.js';
export { SeasonalProfile } from './seasonal.js';
