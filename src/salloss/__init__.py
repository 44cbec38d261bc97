"""salloss: the loss-function study for deep saliency models."""

__version__ = "0.1.0"
