"""CPU numerics profile of pipeline jobs: which code paths the math libraries may take.

Why: MKL (BLAS, VML), oneDNN (convolutions), ATen's vectorised kernels and NumPy each pick
their code at start-up from the host's vector ISA (AVX-512, AVX2, ...). The paths round
differently in the last bits, and training amplifies such differences chaotically: the same
commit and seed gave different demo tables on an AVX-512 host and an AVX2 host (issue 18).
NumPy's AVX-512 ``exp``/``log`` even change the synthetic datasets themselves.

``portable`` (the default of every ``salloss`` process, warm-start server included) caps
the libraries at the AVX2 paths that every x86-64 CPU since 2013-2015 has, before any of them is
imported (they read their settings once, at initialisation):

- ``ATEN_CPU_CAPABILITY=avx2`` — ATen's kernels (PyTorch's own dispatch);
- ``MKL_CBWR=AVX2,STRICT`` — MKL's conditional numerical reproducibility: the AVX2 branch,
  strict (results independent of memory alignment too);
- ``ONEDNN_MAX_CPU_ISA=AVX2`` — oneDNN's JIT kernels;
- ``NPY_DISABLE_CPU_FEATURES=X86_V4 AVX512_ICL AVX512_SPR`` — NumPy's AVX-512 dispatch;
- ``OPENBLAS_CORETYPE=Haswell`` — the OpenBLAS inside the NumPy/SciPy wheels picks its kernels
  by CPU model (SkylakeX, Zen, ...): ``np.linalg.norm`` of a colour difference, which places
  the synthetic datasets' objects, differed in the last bit between hosts without it.

On a host without AVX2 and FMA (``/proc/cpuinfo``) the profile sets nothing: those paths do
not exist there, and forcing OpenBLAS's Haswell kernels would crash.

Measured (README, "CPU numerics"): with it, a training's model bytes and scores are identical
on an AVX-512 host and the same host restricted to AVX2; without it they differ. It does not
make results independent of the CPU *vendor* (MKL takes other paths on non-Intel CPUs), so
the committed demo report is compared with a tolerance, not byte for byte.

``SALLOSS_CPU_NUMERICS=native`` turns it off (each library's fastest path for the host).
A variable the user has set already (``MKL_CBWR=COMPATIBLE``, say) is left as it is.
"""

from __future__ import annotations

import os
from collections.abc import MutableMapping

from salloss.errors import ConfigError

ENV = "SALLOSS_CPU_NUMERICS"
PROFILES: dict[str, dict[str, str]] = {
    "portable": {
        "ATEN_CPU_CAPABILITY": "avx2",
        "MKL_CBWR": "AVX2,STRICT",
        "ONEDNN_MAX_CPU_ISA": "AVX2",
        "NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
        "OPENBLAS_CORETYPE": "Haswell",
    },
    "native": {},
}
DEFAULT = "portable"
# Variables that decide the libraries' code paths (the warm-start server's key includes them:
# a job must never be forked from a server whose libraries initialised under other settings).
LIBRARY_VARS = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS",
                "ONEDNN_MAX_CPU_ISA", "DNNL_MAX_CPU_ISA", "NPY_DISABLE_CPU_FEATURES",
                "NPY_ENABLE_CPU_FEATURES", "OPENBLAS_CORETYPE", "GLIBC_TUNABLES", "LD_PRELOAD",
                ENV)


def profile_name(environ: MutableMapping[str, str] | None = None) -> str:
    """The profile asked for by ``SALLOSS_CPU_NUMERICS`` (default ``portable``)."""
    env = os.environ if environ is None else environ
    name = env.get(ENV, "").strip().lower() or DEFAULT
    if name not in PROFILES:
        raise ConfigError(f"{ENV}={env.get(ENV)!r} is not a CPU numerics profile; choose one "
                            f"of: {', '.join(PROFILES)}")
    return name


def apply_env(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """Set the profile's variables that are not set yet (call before torch/NumPy are imported:
    they read them once). Returns the library variables now in effect."""
    env = os.environ if environ is None else environ
    name = profile_name(env)
    if name != "native" and not host_has_avx2():
        return library_env(env)
    for key, value in PROFILES[name].items():
        env.setdefault(key, value)
    return library_env(env)


def host_has_avx2(cpuinfo: str = "/proc/cpuinfo") -> bool:
    """Whether the host's CPU has AVX2 and FMA (x86 Linux: /proc/cpuinfo's flags). Elsewhere
    (no such file: macOS, Windows; or not x86) False: the profile is an x86 one."""
    try:
        with open(cpuinfo, encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("flags"):
                    flags = set(line.split(":", 1)[1].split())
                    return {"avx2", "fma"} <= flags
    except OSError:
        pass
    return False


def library_env(environ: MutableMapping[str, str] | None = None) -> dict[str, str]:
    """The set variables among `LIBRARY_VARS` (for logs, run summaries, the warm server key)."""
    env = os.environ if environ is None else environ
    return {k: env[k] for k in LIBRARY_VARS if k in env}


def describe(environ: MutableMapping[str, str] | None = None) -> str:
    """One line for logs and run summaries: the profile and the variables in effect."""
    env = os.environ if environ is None else environ
    pairs = " ".join(f"{k}={v}" for k, v in library_env(env).items() if k != ENV)
    return f"{profile_name(env)} ({pairs or 'each library picks its own paths'})"
