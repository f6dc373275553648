/** Predicted slopes for every training setup of THEORY.md §2–3. */
export { predictSlope, type GradStats, type PredictExtras, type PredictionDiagnostics, type PredictionReport } from './predict';
export { setupFromHparams, optimizerFamily, type SetupOverrides, type TrainingSetup } from './setup';
export { reshufflePrediction, reshuffleDirectionExcess, type ReshuffleCurve, type ReshuffleOptions } from './reshuffle';
export { stabilityLimit, stabilityLimitFromEigenvalue, type StabilityOptions } from './stability';
export { penaltyExcludedSlope, type PenaltyExcludedOptions } from './penalty';
