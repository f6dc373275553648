/** Finite-η prediction (issue 20): pure math, no editor or engine imports. */
export type { SgdDynamics, SubspaceCurvature } from './types';
export { finiteEtaPrediction, excessAt, type FiniteEtaOptions } from './predict';
export { batchMoments, subspaceModel, additiveDirectionModel, pairIndex, curvatureMoment, type BatchMoments, type QuadraticNoiseModel } from './quadratic-model';
export { linearRecursion, secondMomentProblem, stationarySecondMoment, isMeanSquareStable, type MomentumSetting, type SecondMomentProblem, type StationaryMoment } from './second-moment';
export { deterministicLimit, meanSquareLimit } from './limits';
export { sgdSpectralSolution, type SgdSpectralSolution } from './sgd-spectral';
export { denseClosureCurve, momentMatchedNormals, type DenseClosureCurve, type DenseClosureOptions, type DenseClosurePoint } from './dense-closure';
export { denseFullExcess, denseFullSolution, denseLayerSubspace, type DenseLayerCurvature, type DenseFullOptions, type DenseFullResult, type DenseFullSolution, type DenseFullSolveOptions } from './dense-full';
export { additiveExcess, linearSlope, momentumFactor, type NoisyDirection, type AdditiveSetting } from './additive';
