/** `heatcap analyze --model …` computes the checkpoint's gradient statistics with the engine. */
export { engineGradients as gradientProvider } from '../core/analysis/engineGradients';
