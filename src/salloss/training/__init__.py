"""Training and prediction (SPEC.md §4): the trainer every pipeline job runs.

    from salloss.training import TrainConfig, train, compute_features, predict_split
    cfg = TrainConfig(arch="baseline", loss="10*kld - 2*cc - nss", weights="imagenet")
    summary = train(cfg, "data/prepared/mit1003", "runs/lc1", features_cache="data/features/...")
    predict_split("runs/lc1", "data/prepared/mit1003", "test", "runs/lc1/predictions")

Modules: `config` (TrainConfig), `loop` (train), `checkpoint` (atomic, NaN-guarded state),
`features` (frozen-VGG cache), `targets` (training targets), `batches` (data path),
`predict` (original-resolution predictions), `score` (MIT metrics of a predictions folder),
`signals` (SIGTERM/SIGUSR1), `live` (DVCLive), `summary` (summary.json), `cli`.
"""

from salloss.training.config import TrainConfig
from salloss.training.features import FeatureCache, compute_features, open_features
from salloss.training.loop import train
from salloss.training.predict import load_model, load_prediction, predict_split
from salloss.training.signals import TrainingInterrupted
from salloss.training.step import TrainingDiverged

__all__ = [
    "FeatureCache",
    "TrainConfig",
    "TrainingDiverged",
    "TrainingInterrupted",
    "compute_features",
    "load_model",
    "load_prediction",
    "open_features",
    "predict_split",
    "train",
]
