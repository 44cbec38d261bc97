"""A throw-away one-node SLURM cluster on localhost, for the integration test.

Everything lives in one temp folder: munge key and socket, ``slurm.conf``, ``gres.conf``,
``cgroup.conf``, state, spool, logs and a ``bin/srun`` shim. The daemons (munged, slurmctld,
slurmd) run in the foreground as children of the test, on free loopback ports, so a system
SLURM/munge (if any) is neither used nor touched, and `SlurmCluster.stop` ends exactly the
processes it started (plus whatever its jobs left running, found by their SLURM_CONF).

The node advertises more CPUs and memory than the machine has (``config_overrides``) and a
``gpu`` GRES backed by ``/dev/null``, so the resource requests of ``profiles/slurm``
(``--gpus=1``, ``--cpus-per-task=8``, ``--mem 32000``, partitions ``cpu`` and ``gpu``) schedule
unchanged on a 2-core CI machine. Client commands find the cluster through ``SLURM_CONF``
(`SlurmCluster.env`).

Inside a job, snakemake-executor-plugin-slurm-jobstep (0.6) runs the rule with ``srun`` after
removing every ``SLURM_*`` variable but the job's identity, ``SLURM_CONF`` included; a real
cluster's srun then finds /etc/slurm/slurm.conf (or its configless cache), but this cluster's
config lives in a temp folder. `SlurmCluster.env` therefore also puts ``bin/`` first on PATH,
where an ``srun`` shim sets ``SLURM_CONF`` back and runs the real srun; nothing outside the
temp folder is written.
"""

from __future__ import annotations

import logging
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "srun", "squeue", "scontrol", "scancel", "sinfo")
# Debian 12 packages: `slurm-wlm` pulls the daemons and the client commands.
PACKAGES = ("slurm-wlm", "slurmctld", "slurmd", "slurm-client", "munge")
NODE = "saltest"
GPUS = 2  # GPU jobs (features, train, evaluate) may run two at a time


def _sbin_path() -> str:
    """PATH plus the sbin folders (daemons live there; a non-login root shell may lack them)."""
    return os.pathsep.join([os.environ.get("PATH", ""), "/usr/sbin", "/usr/local/sbin"])


def missing_binaries() -> list[str]:
    """The SLURM/munge executables not found on PATH (the sbin folders included)."""
    return [b for b in DAEMONS + CLIENTS if shutil.which(b, path=_sbin_path()) is None]


def install_packages(timeout: float = 600) -> str | None:
    """Install the Debian packages when a binary is missing; None on success, else why not.

    Needs root and apt-get (CI runs as root on Debian 12). Daemons are not started by the
    packages' maintainer scripts there (no init system / policy-rc.d); this module starts its
    own. The reason returned names the failing step and ends with apt's last lines.
    """
    if not missing_binaries():
        return None
    apt = shutil.which("apt-get")
    if apt is None:
        return f"apt-get not found; install {' '.join(PACKAGES)} to run this test"
    if os.geteuid() != 0:
        return f"not root: cannot apt-get install {' '.join(PACKAGES)} (install them first)"
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for cmd in ([apt, "update", "-q"],
                [apt, "install", "-y", "-q", "--no-install-recommends",
                 "-o", "DPkg::Lock::Timeout=120", *PACKAGES]):
        try:
            out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return f"`{' '.join(cmd)}` did not finish in {timeout:.0f} s"
        if out.returncode != 0:
            tail = (out.stdout + out.stderr).strip().splitlines()[-5:]
            return f"`{' '.join(cmd)}` failed ({out.returncode}): " + " | ".join(tail)
    still = missing_binaries()
    if still:
        return f"installed {' '.join(PACKAGES)} but still missing: {', '.join(still)}"
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _job_pids(conf: Path) -> set[int]:
    """Pids of processes left by the jobs of the cluster configured by ``conf``: job-step
    daemons (slurmstepd double-forks away from slurmd) and job processes that outlived their
    step. Both inherit this cluster's SLURM_CONF; job processes also carry SLURM_JOB_ID (the
    test's own processes and Snakemake do not)."""
    conf_var = f"SLURM_CONF={conf}".encode() + b"\0"
    pids = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = b"\0" + (entry / "environ").read_bytes()
            stepd = (entry / "cmdline").read_bytes().startswith(b"slurmstepd")
        except OSError:  # gone meanwhile, or not ours to read
            continue
        if b"\0" + conf_var in environ and (stepd or b"\0SLURM_JOB_ID=" in environ):
            pids.add(int(entry.name))
    return pids


class SlurmCluster:
    """One controller + one compute node on 127.0.0.1, configured under ``root``.

    Use as a context manager (or `start` / `stop`). `env` is the environment client commands
    (and Snakemake, whose jobs inherit it through ``sbatch --export=ALL``) must run with.
    """

    def __init__(self, root: Path, cpus: int = 16, memory_mb: int = 64000, gpus: int = GPUS):
        self.root = Path(root)
        self.cpus, self.memory_mb, self.gpus = cpus, memory_mb, gpus
        self.conf = self.root / "slurm.conf"
        self.socket = self.root / "munge" / "munge.socket"
        self._procs: list[tuple[str, subprocess.Popen]] = []

    # -- configuration -------------------------------------------------------------------------

    def write_config(self) -> None:
        """Write the munge key and slurm.conf, gres.conf, cgroup.conf into ``root``."""
        for sub in ("munge", "state", "spool", "log", "dev", "bin"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        (self.root / "munge").chmod(0o700)
        key = self.root / "munge" / "munge.key"
        key.write_bytes(os.urandom(1024))
        key.chmod(0o600)
        host = socket.gethostname().split(".")[0]
        r = self.root
        # One "GPU" device file per GRES unit, each a link to /dev/null: the jobs get
        # CUDA_VISIBLE_DEVICES like on a real GPU node, and nothing is ever opened.
        devices = []
        for i in range(self.gpus):
            dev = r / "dev" / f"gpu{i}"
            if not dev.exists():
                dev.symlink_to("/dev/null")
            devices.append(dev)
        self.conf.write_text("\n".join([
            "ClusterName=salloss-test",
            f"SlurmctldHost={host}(127.0.0.1)",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={self.socket}",
            f"StateSaveLocation={r / 'state'}",
            f"SlurmdSpoolDir={r / 'spool'}",
            f"SlurmctldPidFile={r / 'slurmctld.pid'}",
            f"SlurmdPidFile={r / 'slurmd.pid'}",
            f"SlurmctldLogFile={r / 'log' / 'slurmctld.log'}",
            f"SlurmdLogFile={r / 'log' / 'slurmd.log'}",
            "SlurmctldDebug=info",
            "SlurmdDebug=info",
            # no cgroups, no accounting database: what a CI VM or container can run. Jobs are
            # tracked by process group: with proctrack/linuxproc a requeued job's batch-step
            # Snakemake, reparented to init when its shell died, escaped the final SIGKILL
            "ProctrackType=proctrack/pgid",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "SwitchType=switch/none",
            "SchedulerType=sched/backfill",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core",
            "GresTypes=gpu",
            # trust the node's configured size (more than the 2-core machine has)
            "SlurmdParameters=config_overrides",
            "ReturnToService=2",
            # finished jobs stay visible to squeue (Snakemake's status command here, and the
            # test's checks) for an hour
            "MinJobAge=3600",
            "KillWait=10",
            # jobs are not requeueable unless submitted with --requeue (the profile's
            # `slurm-requeue: true`), so the test sees whether the profile asks for it
            "JobRequeue=0",
            f"NodeName={NODE} NodeHostname={host} NodeAddr=127.0.0.1 CPUs={self.cpus} "
            f"RealMemory={self.memory_mb} Gres=gpu:{self.gpus} State=UNKNOWN",
            f"PartitionName=cpu Nodes={NODE} Default=YES MaxTime=INFINITE State=UP",
            f"PartitionName=gpu Nodes={NODE} MaxTime=INFINITE State=UP",
            "",
        ]))
        (r / "gres.conf").write_text("AutoDetect=off\n" + "".join(
            f"NodeName={NODE} Name=gpu File={dev}\n" for dev in devices))
        srun = shutil.which("srun", path=_sbin_path())
        assert srun is not None, "srun not found"
        shim = r / "bin" / "srun"
        shim.write_text(f'#!/bin/sh\nSLURM_CONF="{self.conf}" exec {srun} "$@"\n')
        shim.chmod(0o755)
        (r / "cgroup.conf").write_text(
            "# proctrack/pgid + task/none: cgroups are not used by this test cluster\n"
            "CgroupAutomount=no\nConstrainCores=no\nConstrainDevices=no\nConstrainRAMSpace=no\n")

    @property
    def env(self) -> dict[str, str]:
        """Variables that point the SLURM client commands (and jobs' srun) at this cluster."""
        return {"SLURM_CONF": str(self.conf),
                "PATH": f"{self.root / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}"}

    # -- daemons --------------------------------------------------------------------------------

    def start(self, timeout: float = 60) -> None:
        """Write the config, start munged, slurmctld and slurmd, wait until the node is idle."""
        self.write_config()
        r = self.root
        self._spawn("munged", [
            "munged", "--foreground", "--force", f"--socket={self.socket}",
            f"--key-file={r / 'munge' / 'munge.key'}", f"--pid-file={r / 'munge' / 'munged.pid'}",
            f"--log-file={r / 'log' / 'munged.log'}", f"--seed-file={r / 'munge' / 'seed'}",
        ])
        self._wait(lambda: self.socket.exists(), timeout, "munged to create its socket")
        self._spawn("slurmctld", ["slurmctld", "-D", "-i", "-f", str(self.conf)])
        self._wait(lambda: self._run("scontrol", "ping").returncode == 0, timeout,
                   "slurmctld to answer `scontrol ping`")
        self._spawn("slurmd", ["slurmd", "-D", "-N", NODE, "-f", str(self.conf)])
        self._wait(lambda: self.node_state() in {"IDLE", "MIXED", "ALLOCATED"}, timeout,
                   f"node {NODE} to become IDLE")

    def _spawn(self, name: str, cmd: list[str]) -> None:
        exe = shutil.which(cmd[0], path=_sbin_path())
        assert exe is not None, f"{cmd[0]} not found"
        out = open(self.root / "log" / f"{name}.out", "w")  # noqa: SIM115 - closed with the proc
        proc = subprocess.Popen([exe, *cmd[1:]], stdout=out, stderr=subprocess.STDOUT,
                                env={**os.environ, **self.env}, start_new_session=True)
        out.close()
        self._procs.append((name, proc))
        log.info("started %s (pid %d)", name, proc.pid)

    def _wait(self, ready: Callable[[], bool], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for name, proc in self._procs:
                if proc.poll() is not None:
                    raise RuntimeError(f"{name} exited ({proc.returncode}) while waiting for "
                                       f"{what}:\n{self.logs()}")
            if ready():
                return
            time.sleep(0.2)
        raise TimeoutError(f"timed out after {timeout:.0f} s waiting for {what}:\n{self.logs()}")

    def stop(self) -> None:
        """Cancel every job, then end the daemons and job-step processes this cluster started."""
        if any(name == "slurmctld" and p.poll() is None for name, p in self._procs):
            self._run("scancel", "--full", f"--user={os.geteuid()}")
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and self.squeue("%i", "--states=R,CG,PD,S"):
                time.sleep(0.5)
        for pid in _job_pids(self.conf):  # left over from a job that outlived scancel
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        for name, proc in reversed(self._procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=15)
                except subprocess.TimeoutExpired:
                    log.warning("%s (pid %d) ignored SIGTERM; killing it", name, proc.pid)
                    proc.kill()
                    proc.wait(timeout=15)
        self._procs.clear()

    def leftover_pids(self) -> set[int]:
        """Processes of this cluster's jobs still alive (none once every job has ended)."""
        return _job_pids(self.conf)

    def __enter__(self) -> SlurmCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- client commands ------------------------------------------------------------------------

    def _run(self, *cmd: str, timeout: float = 30) -> subprocess.CompletedProcess:
        return subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, **self.env})

    def scontrol(self, *args: str) -> str:
        """`scontrol ARGS` on this cluster; its stdout (raises with stderr on failure)."""
        out = self._run("scontrol", *args)
        if out.returncode != 0:
            raise RuntimeError(f"scontrol {' '.join(args)} failed: {out.stderr.strip()}")
        return out.stdout

    def squeue(self, fmt: str, *args: str) -> list[str]:
        """`squeue --noheader --format=FMT ARGS` lines (every job the controller still knows)."""
        out = self._run("squeue", "--noheader", f"--format={fmt}", *args)
        if out.returncode != 0:
            raise RuntimeError(f"squeue failed: {out.stderr.strip()}")
        return [line for line in out.stdout.splitlines() if line.strip()]

    def job_fields(self, job_id: str) -> dict[str, str]:
        """`scontrol show job` as a dict (JobState, Restarts, ExitCode, …)."""
        fields = {}
        for token in self.scontrol("show", "job", "--oneliner", job_id).split():
            key, sep, value = token.partition("=")
            if sep:
                fields.setdefault(key, value)
        return fields

    def node_state(self) -> str:
        """The node's state word (IDLE, ALLOCATED, DOWN, …), '' when the controller is down."""
        out = self._run("sinfo", "--noheader", "--Node", "--format=%T", f"--nodes={NODE}")
        lines = out.stdout.split() if out.returncode == 0 else []  # one line per partition
        return lines[0].upper().rstrip("*~#%$@") if lines else ""

    def logs(self, lines: int = 40) -> str:
        """The last lines of every daemon log, for failure messages."""
        parts = []
        for f in sorted((self.root / "log").glob("*")):
            text = f.read_text(errors="replace").splitlines()[-lines:]
            parts.append(f"--- {f.name} ---\n" + "\n".join(text))
        return "\n".join(parts)
