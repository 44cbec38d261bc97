"""Warm start for pipeline jobs: a per-user server that imports the heavy libraries once and
forks a ready process for every ``salloss run ...`` job.

Why: each pipeline job (Snakemake rule, DVC stage) is a new process, and importing torch,
``torch._dynamo`` (every torch optimiser's ``step`` imports it), SciPy, POT, DVCLive and
matplotlib costs about 4 s of CPU per job on a 2-core machine — more than a demo training
takes, and the demo has ~90 jobs. The server pays that once; a job then starts in ~0.1 s.

How: ``salloss run ...`` (the client) connects to a Unix socket, sends its argv, working
directory, environment and umask, and passes its stdin, stdout and stderr file descriptors. The
server forks; the child adopts all of that, runs the command exactly as ``salloss`` would in a
fresh process, and the server reports the child's exit status back. Signals the client receives
(SIGTERM from a scheduler, SIGINT from Ctrl-C, SIGUSR1, SIGHUP) are forwarded to the child, and
a child whose client vanished (killed with SIGKILL) is sent SIGTERM: a training then saves its
checkpoint and stops, as when a scheduler pre-empts it.

When (``SALLOSS_WARM``): ``auto`` (default) uses it on Linux for ``salloss run`` outside batch
schedulers (SLURM, PBS, LSF, SGE: there every job must run inside its own allocation);
``0``/``off`` never; ``1``/``on`` also under a scheduler. The first job finding no server starts
one in the background and runs cold itself; the server exits after ``SALLOSS_WARM_IDLE``
seconds (default 120) without a job. Its log: ``<socket dir>/<key>.log``. The socket lives in
``SALLOSS_WARM_DIR``, else ``$XDG_RUNTIME_DIR/salloss``, else ``/tmp/salloss-<uid>`` (a folder
only its owner can enter).

Why the result is the same as a cold start: the server is keyed by the interpreter, ``sys.path``
and the size and mtime of every salloss source file and of the preloaded libraries, so editing
the code (or upgrading torch) starts a new server; the server only imports modules — it never
initialises CUDA, starts a thread or draws a random number before forking — and each job seeds
its own RNGs, sets its own thread count (``OMP_NUM_THREADS`` / ``--threads``) and reads its own
environment. Python's ``random`` reseeds itself in a forked child.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import selectors
import signal
import socket
import struct
import sys
import time
from pathlib import Path
from typing import Any

from salloss import numerics

ENV = "SALLOSS_WARM"
ENV_DIR = "SALLOSS_WARM_DIR"
ENV_IDLE = "SALLOSS_WARM_IDLE"
DEFAULT_IDLE_S = 120.0
# Batch schedulers whose jobs must not be run by a process outside their allocation.
SCHEDULER_VARS = ("SLURM_JOB_ID", "PBS_JOBID", "LSB_JOBID", "JOB_ID", "COBALT_JOBID")
# Libraries the server imports (besides salloss): their installs are part of the key.
PRELOAD_LIBS = ("torch", "numpy", "scipy", "ot", "dvclive", "matplotlib", "PIL", "yaml", "tqdm")
FORWARDED = (signal.SIGTERM, signal.SIGINT, signal.SIGUSR1, signal.SIGUSR2, signal.SIGHUP)
_HEADER = struct.Struct("!I")


# -- when ------------------------------------------------------------------------------------
def enabled(argv: list[str], environ: dict[str, str] | None = None) -> bool:
    """Whether this command line should go through the warm server."""
    env = os.environ if environ is None else environ
    mode = env.get(ENV, "auto").strip().lower()
    if mode in ("0", "off", "no", "false") or not argv or argv[0] != "run":
        return False
    if sys.platform != "linux" or not hasattr(socket, "send_fds") or not hasattr(os, "fork"):
        return False
    if any(a in ("-h", "--help") for a in argv):
        return False
    if mode in ("1", "on", "yes", "true"):
        return True
    return not any(env.get(v) for v in SCHEDULER_VARS)


def socket_dir(environ: dict[str, str] | None = None) -> Path:
    """Where the sockets live (see module docstring)."""
    env = os.environ if environ is None else environ
    if env.get(ENV_DIR):
        return Path(env[ENV_DIR])
    runtime = env.get("XDG_RUNTIME_DIR")
    if runtime and Path(runtime).is_dir():
        return Path(runtime) / "salloss"
    return Path("/tmp") / f"salloss-{os.getuid()}"


def _private_dir(path: Path) -> bool:
    """Create ``path`` (mode 0700) if needed; True only if it is ours and private."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        st = path.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def server_key() -> str:
    """Hash of everything a warm server's imported code depends on (see module docstring)."""
    import importlib.util

    h = hashlib.sha256()
    h.update(sys.executable.encode())
    h.update("\0".join(sys.path).encode())
    # the variables the math libraries read once, at import (salloss.numerics): a job must
    # not run in libraries initialised under other settings
    h.update(json.dumps(numerics.library_env(), sort_keys=True).encode())
    package = Path(__file__).resolve().parent
    for path in sorted(package.rglob("*.py")):
        st = path.stat()
        h.update(f"{path}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    for name in PRELOAD_LIBS:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            st = os.stat(spec.origin)
            h.update(f"{name}:{spec.origin}:{st.st_size}:{st.st_mtime_ns}\n".encode())
    return h.hexdigest()[:20]


# -- messages ----------------------------------------------------------------------------------
def _send(sock: socket.socket, obj: dict[str, Any], fds: list[int] | None = None) -> None:
    payload = json.dumps(obj).encode()
    data = _HEADER.pack(len(payload)) + payload
    if fds:
        sent = socket.send_fds(sock, [data], fds)
        data = data[sent:]
    if data:
        sock.sendall(data)


def _recv(sock: socket.socket, with_fds: bool = False) -> tuple[dict[str, Any] | None, list[int]]:
    """One message (None on EOF before a complete one) and any file descriptors sent with it."""
    fds: list[int] = []
    if with_fds:
        data, fds, _, _ = socket.recv_fds(sock, 1 << 16, 3)
    else:
        data = sock.recv(1 << 16)
    buf = bytearray(data)
    while len(buf) < _HEADER.size or len(buf) < _HEADER.size + _HEADER.unpack_from(buf)[0]:
        chunk = sock.recv(1 << 16) if buf or not with_fds else b""
        if not chunk:
            for fd in fds:
                os.close(fd)
            return None, []
        buf += chunk
    (n,) = _HEADER.unpack_from(buf)
    return json.loads(bytes(buf[_HEADER.size:_HEADER.size + n])), fds


# -- client ------------------------------------------------------------------------------------
def run(argv: list[str]) -> int | None:
    """Run ``salloss <argv>`` in a process forked by the warm server and return its exit code;
    None when no server could take it (the caller then runs the command itself). Starts a
    server for the next jobs when none is running."""
    folder = socket_dir()
    if not _private_dir(folder):
        return None
    key = server_key()
    path = folder / f"{key}.sock"
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.connect(str(path))
    except OSError:
        sock.close()
        _start_server(folder, key)
        return None
    with sock:
        request = {"argv": [sys.argv[0], *argv], "cwd": os.getcwd(), "env": dict(os.environ),
                   "umask": _umask()}
        try:
            _send(sock, request, [0, 1, 2])
            started, _ = _recv(sock)
        except OSError:
            return None
        if started is None or "pid" not in started:
            return None  # the server went away before forking: run cold
        pid = int(started["pid"])
        previous = {s: signal.signal(s, lambda signum, _frame: _forward(pid, signum))
                    for s in FORWARDED}
        try:
            while True:
                try:
                    done, _ = _recv(sock)
                    break
                except InterruptedError:
                    continue
        finally:
            for s, handler in previous.items():
                signal.signal(s, handler)
    if done is None:
        print(f"salloss: the warm-start server stopped while job {pid} ran; its exit status is "
              "unknown (rerun the command; SALLOSS_WARM=0 runs without the server)",
              file=sys.stderr)
        return 1
    return int(done["exit"])


def _forward(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signum)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _start_server(folder: Path, key: str) -> None:
    """Start a server in its own session (it outlives this job); never raises."""
    import subprocess

    env = {k: v for k, v in os.environ.items()
           if k not in ("OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    env["OPENBLAS_NUM_THREADS"] = "1"  # NumPy's BLAS pool is made at import; keep it single
    try:
        with open(folder / f"{key}.log", "ab") as log:
            subprocess.Popen(
                [sys.executable, "-m", "salloss.warm", str(folder), key],
                stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True, close_fds=True, env=env, cwd="/",
            )
    except OSError:
        pass


# -- server ------------------------------------------------------------------------------------
def preload() -> None:
    """Import what pipeline jobs import (modules only: no CUDA, no threads, no RNG draws)."""
    import importlib

    os.environ.setdefault("MPLBACKEND", "Agg")
    for name in ("torch", "torch._dynamo", "torch.optim", "numpy", "scipy.ndimage",
                 "scipy.optimize", "scipy.stats", "PIL.Image", "yaml", "tqdm", "dvclive",
                 "matplotlib.pyplot", "salloss.cli", "salloss.pipeline.stages",
                 "salloss.pipeline.plan", "salloss.training.loop", "salloss.training.predict",
                 "salloss.training.score", "salloss.training.features", "salloss.data",
                 "salloss.losses", "salloss.metrics", "salloss.metrics.emd",
                 "salloss.report"):
        importlib.import_module(name)
    from salloss.metrics.emd import solver

    solver()
    from salloss.cli import COMMANDS

    for module in sorted({module for module, _ in COMMANDS.values()}):
        importlib.import_module(module)


def serve(folder: Path, key: str, idle_s: float | None = None) -> int:
    """The server loop (``python -m salloss.warm FOLDER KEY``); returns its exit code."""
    import fcntl
    import threading

    idle_s = float(os.environ.get(ENV_IDLE, DEFAULT_IDLE_S)) if idle_s is None else idle_s
    lock = open(folder / f"{key}.lock", "w")  # noqa: SIM115 - held for the server's life
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return 0  # another server for this key is starting or running
    started = time.monotonic()
    numerics.apply_env()  # the client applied it already; a server started by hand too
    preload()
    import torch

    default_threads = torch.get_num_threads()
    if threading.active_count() != 1:
        _log(f"refusing to serve: {threading.active_count()} threads after the imports (a "
             "forked job would inherit broken thread state)")
        return 1
    path = folder / f"{key}.sock"
    path.unlink(missing_ok=True)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(path))
    listener.listen(64)
    listener.setblocking(False)
    # A finished job must be reported at once: SIGCHLD wakes the loop through a pipe.
    wake_r, wake_w = os.pipe()
    for fd in (wake_r, wake_w):
        os.set_blocking(fd, False)
    signal.set_wakeup_fd(wake_w)
    signal.signal(signal.SIGCHLD, lambda signum, frame: None)
    events = selectors.DefaultSelector()
    events.register(listener, selectors.EVENT_READ)
    events.register(wake_r, selectors.EVENT_READ)
    _log(f"serving on {path} (pid {os.getpid()}, imports took "
         f"{time.monotonic() - started:.1f} s, idle timeout {idle_s:g} s)")
    children: dict[int, socket.socket] = {}
    last = time.monotonic()
    try:
        while children or time.monotonic() - last < idle_s:
            ready = {key.fileobj for key, _ in events.select(timeout=1.0)}
            if wake_r in ready:
                with contextlib.suppress(BlockingIOError):
                    while os.read(wake_r, 512):
                        pass
            _reap(children)
            if listener not in ready:
                continue
            try:
                conn, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                continue
            last = time.monotonic()
            conn.settimeout(10.0)
            try:
                request, fds = _recv(conn, with_fds=True)
            except OSError:
                request, fds = None, []
            if request is None or len(fds) != 3:
                for fd in fds:
                    os.close(fd)
                conn.close()
                continue
            # Blocking from here on, in the server and the job alike: a timeout is O_NONBLOCK
            # on the socket's open file description, which fork shares between the two.
            conn.settimeout(None)
            sys.stdout.flush()
            sys.stderr.flush()
            pid = os.fork()
            if pid == 0:  # the job
                signal.set_wakeup_fd(-1)
                events.close()
                for fd in (wake_r, wake_w):
                    os.close(fd)
                listener.close()
                lock.close()
                for other in children.values():
                    other.close()
                _child(conn, request, fds, default_threads)  # never returns
            for fd in fds:
                os.close(fd)
            _log(f"job {pid}: salloss {' '.join(request['argv'][1:])} (in {request['cwd']})")
            try:
                _send(conn, {"pid": pid})
            except OSError:
                pass
            children[pid] = conn
            _reap(children)
    finally:
        path.unlink(missing_ok=True)
        listener.close()
        _log(f"stopped after {time.monotonic() - last:.0f} s without a job")
    return 0


def _reap(children: dict[int, socket.socket]) -> None:
    """Collect finished jobs and tell each one's client how it ended."""
    for pid in list(children):
        try:
            done, status = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            done, status = pid, 1 << 8
        if done == 0:
            continue
        conn = children.pop(pid)
        code = os.waitstatus_to_exitcode(status)
        with contextlib.suppress(OSError):
            _send(conn, {"exit": code if code >= 0 else 128 - code})
        conn.close()


def _child(conn: socket.socket, request: dict[str, Any], fds: list[int],
           default_threads: int) -> None:
    """Become the job: adopt the client's stdio, directory, environment; run; exit."""
    import atexit
    import threading

    code = 1
    try:
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2,
                    signal.SIGHUP, signal.SIGPIPE):
            signal.signal(sig, signal.SIG_DFL)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        for target, fd in enumerate(fds):
            os.dup2(fd, target)
            os.close(fd)
        sys.stdin = open(0, closefd=False)  # noqa: SIM115
        sys.stdout = open(1, "w", buffering=1 if os.isatty(1) else -1, closefd=False)  # noqa: SIM115
        sys.stderr = open(2, "w", buffering=1, closefd=False,  # noqa: SIM115
                          errors="backslashreplace")
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        os.umask(int(request["umask"]))
        sys.argv = list(request["argv"])
        import torch

        torch.set_num_threads(_threads(os.environ.get("OMP_NUM_THREADS"), default_threads))
        threading.Thread(target=_watch_client, args=(conn,), daemon=True).start()
        from salloss.cli import run_command

        try:
            code = int(run_command(sys.argv[1:]) or 0)
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            if exc.code is not None and not isinstance(exc.code, int):
                print(exc.code, file=sys.stderr)
        except KeyboardInterrupt:
            code = 130
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 1
        atexit._run_exitfuncs()
    finally:
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(code)


def _threads(value: str | None, default: int) -> int:
    try:
        return max(1, int(value)) if value else default
    except ValueError:
        return default


def _watch_client(conn: socket.socket) -> None:
    """SIGTERM this job when its client goes away (the client sends nothing after the
    request, so recv returns only at EOF)."""
    try:
        while conn.recv(1 << 12):
            pass
    except OSError:
        return  # not an end of the client: leave the job alone
    os.kill(os.getpid(), signal.SIGTERM)


def _log(message: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} salloss.warm[{os.getpid()}]: {message}",
          flush=True)


if __name__ == "__main__":
    sys.exit(serve(Path(sys.argv[1]), sys.argv[2]))
