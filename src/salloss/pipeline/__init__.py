"""The experiment pipeline: params.yaml schema, the run grid, and one entry point per stage.

Snakemake rules and DVC stages both call `salloss run STAGE --params FILE ...`, which resolves
everything from the validated params file, so the two tools run exactly the same commands.
"""

from salloss.pipeline.config import PipelineConfig, load_params
from salloss.pipeline.plan import Run, plan_runs

__all__ = ["PipelineConfig", "Run", "load_params", "plan_runs"]
