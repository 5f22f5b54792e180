"""Running trained networks on real images: one loader for every model name or path, the tiling of
images of any size, and the onnxruntime backend (no TensorFlow)."""
