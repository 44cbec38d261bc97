"""Fast checks of the test cluster's helper: when it installs, when and why it gives up (the
reason the integration test is skipped with), and what its config declares."""

from __future__ import annotations

import subprocess
from pathlib import Path

import minicluster
import pytest
from minicluster import SlurmCluster, install_packages


def test_nothing_installed_when_every_binary_is_there(monkeypatch):
    monkeypatch.setattr(minicluster, "missing_binaries", lambda: [])
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: pytest.fail("apt-get was called"))
    assert install_packages() is None


def test_without_apt_get_the_reason_names_the_packages(monkeypatch):
    monkeypatch.setattr(minicluster, "missing_binaries", lambda: ["slurmd"])
    monkeypatch.setattr(minicluster.shutil, "which", lambda name, **k: None)
    reason = install_packages()
    assert "apt-get not found" in reason and "slurmctld" in reason and "munge" in reason


def test_not_root_is_a_reason(monkeypatch):
    monkeypatch.setattr(minicluster, "missing_binaries", lambda: ["slurmd"])
    monkeypatch.setattr(minicluster.shutil, "which", lambda name, **k: "/usr/bin/apt-get")
    monkeypatch.setattr(minicluster.os, "geteuid", lambda: 1000)
    assert "not root" in install_packages()


def test_a_failing_apt_get_is_reported_with_its_last_lines(monkeypatch):
    calls = []

    def fake_run(cmd, **kwargs):
        calls.append(cmd)
        rc = 100 if "install" in cmd else 0
        return subprocess.CompletedProcess(cmd, rc, "Reading package lists...\n",
                                           "E: Unable to locate package slurmd\n")

    monkeypatch.setattr(minicluster, "missing_binaries", lambda: ["slurmd"])
    monkeypatch.setattr(minicluster.shutil, "which", lambda name, **k: "/usr/bin/apt-get")
    monkeypatch.setattr(minicluster.os, "geteuid", lambda: 0)
    monkeypatch.setattr(subprocess, "run", fake_run)
    reason = install_packages()
    assert [c[1] for c in calls] == ["update", "install"]  # the package lists first
    assert "failed (100)" in reason and "Unable to locate package slurmd" in reason


def test_config_declares_the_profiles_partitions_and_a_dev_null_gpu(tmp_path, monkeypatch):
    monkeypatch.setattr(minicluster.shutil, "which", lambda name, **k: f"/usr/bin/{name}")
    cluster = SlurmCluster(tmp_path, gpus=2)
    cluster.write_config()
    conf = cluster.conf.read_text()
    assert "PartitionName=cpu " in conf and "PartitionName=gpu " in conf
    assert "Gres=gpu:2" in conf and "JobRequeue=0" in conf
    gres = (tmp_path / "gres.conf").read_text().splitlines()
    devices = [line.split("File=")[1] for line in gres if "File=" in line]
    assert len(devices) == 2
    assert all(Path(d).parent == tmp_path / "dev" and Path(d).resolve() == Path("/dev/null")
               for d in devices)
    shim = (tmp_path / "bin" / "srun").read_text()
    assert f'SLURM_CONF="{cluster.conf}"' in shim and "exec /usr/bin/srun" in shim
    assert (tmp_path / "munge" / "munge.key").stat().st_mode & 0o077 == 0  # munged insists
