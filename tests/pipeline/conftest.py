"""Make this folder's helper modules (workflow_utils) importable by the pipeline tests."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
