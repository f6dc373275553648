/** Observed slopes with honest error bars (THEORY.md §5). */
export { convergedLoss, type ConvergedLoss, type ConvergedLossOptions, type ConvergedLossMethod } from './converged';
export { fitSweep, observedFitOfSweep, type SweepFit, type SweepFitOptions, type SweepPointInput, type SweepPointDecision } from './sweep-fit';
export {
  analyseSchedule,
  findScheduleEvents,
  multiStepSchedule,
  pooledEventSlope,
  type PooledSlope,
  type ScheduleAnalysis,
  type ScheduleEventDetail,
  type ScheduleEventOptions,
  type StatedSchedule,
} from './schedule';
export { slopeRatioCi, type SlopeRatio } from './ratio';
export { chooseLossTag, type LossTagChoice, type LossTagInfo, type LossTagKind } from './tags';
export { criticalValue, chiSquareSurvival, twoSidedTPValue } from './distributions';
