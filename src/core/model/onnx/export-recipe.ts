/**
 * The one torch.onnx.export call we ask PyTorch users to run: eval mode, BatchNorm kept as its own node
 * with its own parameters (PRESERVE, no constant folding), one input and one output with a free batch
 * axis. Shown when a file holds weights without the architecture and when a graph looks constant-folded.
 */
export const TORCH_EXPORT_RECIPE =
  'torch.onnx.export(model.eval(), x, "net.onnx", training=torch.onnx.TrainingMode.PRESERVE, do_constant_folding=False, ' +
  'input_names=["input"], output_names=["output"], dynamic_axes={"input": {0: "batch"}, "output": {0: "batch"}})';
