"""The SLURM integration test's cluster fixture: install the Debian packages if missing, start
a one-node cluster in a temp folder for the module, point SLURM_CONF at it, stop it after.

Skipped (with apt's reason) only where the packages cannot be installed; under CI (``CI`` set)
that is a failure instead, so a CI machine that cannot run the test never reports it green.
"""

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "pipeline"))  # workflow_utils: fresh_copy, run, env

from minicluster import SlurmCluster, install_packages  # noqa: E402


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    """A running `SlurmCluster`; SLURM_CONF points at it for the module's tests."""
    reason = install_packages()
    if reason is not None:
        msg = f"cannot install SLURM (Debian slurm-wlm, slurmctld, slurmd, munge): {reason}"
        if os.environ.get("CI", "").lower() not in ("", "0", "false"):
            pytest.fail(msg + " (CI must run this test)")
        pytest.skip(msg)
    root = tmp_path_factory.mktemp("slurm")
    short = None
    if len(str(root)) > 80:  # munge's socket path must fit a 108-byte sockaddr_un
        root = short = Path(tempfile.mkdtemp(prefix="salloss-slurm-"))
    try:
        with SlurmCluster(root) as cluster, pytest.MonkeyPatch.context() as mp:
            for key, value in cluster.env.items():
                mp.setenv(key, value)
            yield cluster
    finally:
        if short is not None:
            shutil.rmtree(short, ignore_errors=True)
