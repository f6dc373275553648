import type { GradientProvider } from '../core/analysis/gradients';
import { HeatcapError } from '../core/errors';

/** Computes the checkpoint's gradient statistics for `heatcap analyze --model …` (wired to the engine). */
export const gradientProvider: GradientProvider = async (opts) => {
  throw new HeatcapError(opts.model, 'the gradient engine is not wired into analyze yet');
};
