"""The CPU numerics profile (`salloss.numerics`): what it sets, when, and that `salloss` sets
it before torch and NumPy initialise (they read it once)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from salloss import numerics
from salloss.errors import ConfigError


def test_portable_sets_every_library_and_keeps_the_users_choice(monkeypatch):
    monkeypatch.setattr(numerics, "host_has_avx2", lambda: True)
    env = {"MKL_CBWR": "COMPATIBLE"}
    numerics.apply_env(env)
    assert env["MKL_CBWR"] == "COMPATIBLE"  # the user's setting wins
    assert env["ATEN_CPU_CAPABILITY"] == "avx2" and env["ONEDNN_MAX_CPU_ISA"] == "AVX2"
    assert "X86_V4" in env["NPY_DISABLE_CPU_FEATURES"] and env["OPENBLAS_CORETYPE"] == "Haswell"
    assert "portable" in numerics.describe(env) and "MKL_CBWR=COMPATIBLE" in numerics.describe(env)


def test_native_sets_nothing_and_a_host_without_avx2_is_left_alone(monkeypatch):
    env = {"SALLOSS_CPU_NUMERICS": "native"}
    assert numerics.apply_env(env) == {"SALLOSS_CPU_NUMERICS": "native"}
    monkeypatch.setattr(numerics, "host_has_avx2", lambda: False)
    assert numerics.apply_env({}) == {}


def test_unknown_profile_names_the_choices():
    with pytest.raises(ConfigError, match="SALLOSS_CPU_NUMERICS.*portable, native"):
        numerics.apply_env({"SALLOSS_CPU_NUMERICS": "fast"})


def test_host_flags(tmp_path):
    info = tmp_path / "cpuinfo"
    info.write_text("processor: 0\nflags\t\t: fpu sse2 avx fma avx2\n")
    assert numerics.host_has_avx2(str(info))
    info.write_text("flags\t\t: fpu sse2 avx\n")
    assert not numerics.host_has_avx2(str(info))
    assert not numerics.host_has_avx2(str(tmp_path / "missing"))


@pytest.mark.skipif(not numerics.host_has_avx2(), reason="the profile applies to AVX2 hosts")
def test_the_cli_applies_it_before_torch_initialises(tmp_path):
    """`salloss.cli.main` (every pipeline job's entry point) applies the profile before
    anything imports torch: ATen then reports the capped capability even on an AVX-512 host."""
    probe = tmp_path / "probe.py"
    probe.write_text(
        "import json, sys\n"
        "from salloss.cli import main\n"
        "assert 'torch' not in sys.modules and 'numpy' not in sys.modules\n"
        "try:\n    main(['--version'])\nexcept SystemExit:\n    pass\n"
        "import torch\n"
        "from salloss import numerics\n"
        "print(json.dumps({'cap': torch.backends.cpu.get_cpu_capability(),\n"
        "                  'env': numerics.library_env()}))\n")
    out = subprocess.run([sys.executable, str(probe)], capture_output=True, text=True,
                         check=True, env={"PATH": "/usr/bin:/bin"})
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["cap"] == "AVX2" and got["env"]["MKL_CBWR"] == "AVX2,STRICT"
