"""Running the networks (torch, no Qt): devices, checkpoints, prediction, training, metrics.

    from segstudio.engine.checkpoint import load_checkpoint, save_checkpoint, default_checkpoint
    from segstudio.engine.predict import Predictor, predict_paths
    from segstudio.engine.train import TrainConfig, train

Long work takes `progress(event)` and `cancel() -> bool` callables, so the GUI (on a QThread)
and the command line drive the same code. Submodules are imported on demand: importing this
package does not import torch.
"""
