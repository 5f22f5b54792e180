"""The paper's model and its training: Keras layers, U-Nets, the twin model, the training-time
distortion layer, stego refinement, data pipelines, model.fit, and the steganalysis CNN."""
