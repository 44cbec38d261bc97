"""The warm-start server (`salloss.warm`): pipeline jobs forked from a process that imported
torch once give the same results, exit codes and output as a cold start; signals reach the job;
a job whose client is killed stops and saves; the policy of when it is used."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from salloss import warm

PRESET = Path(__file__).parent / "pipeline" / "presets" / "tiny.yaml"
SALLOSS = str(Path(sys.executable).with_name("salloss"))


@pytest.mark.parametrize(
    ("argv", "env", "expected"),
    [
        (["run", "train"], {}, True),
        (["run", "train"], {"SALLOSS_WARM": "0"}, False),
        (["run", "train"], {"SALLOSS_WARM": "off"}, False),
        (["run", "train"], {"SLURM_JOB_ID": "17"}, False),  # a scheduler's job: its cgroup
        (["run", "train"], {"SLURM_JOB_ID": "17", "SALLOSS_WARM": "1"}, True),
        (["train", "--loss", "mse"], {}, False),  # only pipeline jobs
        (["run", "train", "--help"], {}, False),
        ([], {}, False),
    ],
)
def test_when_the_server_is_used(argv, env, expected):
    assert warm.enabled(argv, env) is (expected and sys.platform == "linux")


def test_key_changes_with_the_import_path(monkeypatch):
    key = warm.server_key()
    assert key == warm.server_key() and len(key) == 20
    monkeypatch.setattr(sys, "path", [*sys.path, "/nonexistent/extra"])
    assert warm.server_key() != key


def test_key_changes_with_the_math_libraries_settings(monkeypatch):
    """A job must never be forked from a server whose MKL/oneDNN/ATen/NumPy initialised under
    other settings (they read them once, at import): the settings are part of the key."""
    monkeypatch.setenv("MKL_CBWR", "AVX2,STRICT")
    key = warm.server_key()
    monkeypatch.setenv("MKL_CBWR", "COMPATIBLE")
    assert warm.server_key() != key
    monkeypatch.setenv("SALLOSS_CPU_NUMERICS", "native")
    other = warm.server_key()
    monkeypatch.delenv("SALLOSS_CPU_NUMERICS")
    assert warm.server_key() != other


def test_socket_dir_must_be_private(tmp_path):
    folder = tmp_path / "socks"
    assert warm._private_dir(folder)
    assert oct(folder.stat().st_mode & 0o777) == "0o700"
    folder.chmod(0o755)
    assert not warm._private_dir(folder)


def _env(socks: Path) -> dict[str, str]:
    return {**os.environ, "SALLOSS_WARM_DIR": str(socks), "SALLOSS_WARM_IDLE": "60",
            "SALLOSS_WARM": "1"}


def _wait_for_server(socks: Path, timeout: float = 90.0) -> Path:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        found = list(socks.glob("*.sock"))
        if found:
            return found[0]
        time.sleep(0.2)
    logs = "\n".join(p.read_text() for p in socks.glob("*.log"))
    raise AssertionError(f"no warm server came up in {timeout} s; its log:\n{logs}")


def _jobs_logged(socks: Path) -> list[str]:
    return [line for p in socks.glob("*.log") for line in p.read_text().splitlines()
            if ": job " in line]


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A folder with the tiny preset, and a private socket folder."""
    root = tmp_path_factory.mktemp("warm")
    shutil.copy(PRESET, root / "params.yaml")
    (root / "results" / "paper_reference").mkdir(parents=True)
    socks = root / "socks"
    yield root, socks
    for log in socks.glob("*.log"):  # stop the server: nothing may outlive the tests
        for line in log.read_text().splitlines():
            if "serving on" in line:
                pid = int(line.split("(pid ")[1].split(",")[0])
                try:
                    os.kill(pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass


def _run(project, *args, **kwargs):
    root, socks = project
    return subprocess.run([SALLOSS, "run", *args, "--params", "params.yaml"], cwd=root,
                          env=_env(socks), capture_output=True, text=True, timeout=600,
                          **kwargs)


@pytest.mark.slow
def test_jobs_through_the_server_match_a_cold_start(project):
    root, socks = project
    cold = _run(project, "fetch", "--dataset", "mit1003")  # starts the server, runs itself
    assert cold.returncode == 0, cold.stderr
    _wait_for_server(socks)
    assert _jobs_logged(socks) == []
    first = _run(project, "prepare", "--dataset", "mit1003")  # through the server
    assert first.returncode == 0, first.stderr
    warm_run = _run(project, "prepare", "--dataset", "mit1003")  # a no-op, through the server
    assert warm_run.returncode == 0, warm_run.stderr
    assert "is up to date" in warm_run.stderr  # the job's log reached the client's stderr
    assert len(_jobs_logged(socks)) == 2
    # exit code and message of a user error come back as from a cold start
    bad = _run(project, "train", "--dataset", "mit1003", "--arch", "baseline", "--loss",
               "nope", "--seed", "0")
    cold_bad = subprocess.run(
        [SALLOSS, "run", "train", "--params", "params.yaml", "--dataset", "mit1003", "--arch",
         "baseline", "--loss", "nope", "--seed", "0"], cwd=root,
        env={**_env(socks), "SALLOSS_WARM": "0"}, capture_output=True, text=True, timeout=600)
    assert bad.returncode == cold_bad.returncode == 2
    assert bad.stderr.strip().splitlines()[-1] == cold_bad.stderr.strip().splitlines()[-1]
    assert "unknown loss id 'nope'" in bad.stderr
    assert len(_jobs_logged(socks)) == 3
    # the job sees the client's environment and working directory
    env_run = subprocess.run(
        [SALLOSS, "run", "features", "--params", "params.yaml", "--dataset", "mit1003",
         "--arch", "baseline", "--threads", "1"], cwd=root,
        env={**_env(socks), "SALLOSS_TEST_MARKER": "x"}, capture_output=True, text=True,
        timeout=600)
    assert env_run.returncode == 0, env_run.stderr
    assert (root / "data" / "features" / "tiny" / "mit1003" / "baseline").is_dir()


@pytest.mark.slow
def test_sigterm_reaches_the_job_and_a_killed_client_stops_it(project):
    import yaml

    root, socks = project
    params = yaml.safe_load((root / "params.yaml").read_text())
    params["archs"]["baseline"]["train"].update(max_epochs=100_000, patience=100_000)
    (root / "long.yaml").write_text(yaml.safe_dump(params))
    args = [SALLOSS, "run", "train", "--params", "long.yaml", "--dataset", "mit1003",
            "--arch", "baseline", "--loss", "mse", "--seed", "0", "--threads", "1"]
    for stage in (["fetch", "--dataset", "mit1003"], ["prepare", "--dataset", "mit1003"],
                  ["features", "--dataset", "mit1003", "--arch", "baseline"]):
        done = subprocess.run([SALLOSS, "run", *stage, "--params", "long.yaml"], cwd=root,
                              env=_env(socks), capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
    _wait_for_server(socks)
    last = root / "results" / "tiny" / "runs" / "mit1003" / "baseline" / "mse" / "seed0" / \
        "checkpoint" / "last.pt"
    before = len(_jobs_logged(socks))
    client = subprocess.Popen(args, cwd=root, env=_env(socks), stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
    _wait_until(last.is_file)  # an epoch has finished: the job is training
    assert len(_jobs_logged(socks)) == before + 1  # ... in a process the server forked
    client.send_signal(signal.SIGTERM)
    _, err = client.communicate(timeout=300)
    assert client.returncode == 143, err  # the trainer's "saved, retry me" exit code
    assert "SIGTERM received" in err and "exiting with code 143" in err
    # SIGKILL the client: the job is told to stop (SIGTERM), saves, and nothing is left over
    client = subprocess.Popen(args, cwd=root, env=_env(socks), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    _wait_until(lambda: len(_jobs_logged(socks)) > before + 1)
    job = int(_jobs_logged(socks)[-1].split(": job ")[1].split(":")[0])
    saved = last.stat().st_mtime_ns
    _wait_until(lambda: last.stat().st_mtime_ns > saved)  # resumed, trained an epoch
    client.kill()
    client.wait()
    killed = time.time_ns()
    _wait_until(lambda: not _alive(job), timeout=120)
    assert last.stat().st_mtime_ns >= killed - 2_000_000_000  # it saved on its way out


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text(
    ).split()[2]


def _wait_until(condition, timeout: float = 120.0) -> None:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if condition():
            return
        time.sleep(0.2)
    raise AssertionError("timed out")
