"""Pure PyTorch + timm melanoma classifier: training, evaluation and metrics.

No Django, Redis or URLs here: functions take paths, a config dataclass and callbacks,
so the web app's jobs (and researchers at a shell) call the same code.

    from classifier.cnn.train import TrainConfig, train
    from classifier.cnn.evaluate import evaluate, predict
    from classifier.cnn.metrics import binary_metrics, delong_test, youden_threshold

Modules: models (networks and starting weights), data (folders, cache, loaders),
train, evaluate, metrics, checkpoint (plain-data checkpoints), cli (command line).
"""
