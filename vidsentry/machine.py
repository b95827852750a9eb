"""What machine a figure was measured on: every reported figure carries its CPU."""

from __future__ import annotations

import platform
import subprocess
from pathlib import Path

ISA_FLAGS = ("avx", "avx2", "fma", "avx512f", "avx512bw", "avx512_vnni", "amx_tile")
"""The instruction-set flags that change inference speed most (oneDNN and XNNPACK pick kernels by them)."""


def cpu_name() -> str:
    """The CPU's model name, e.g. "AMD EPYC"."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cpu_summary() -> str:
    """Model, CPU count and the speed-relevant flags, from ``lscpu``."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=5).stdout
    except (OSError, subprocess.SubprocessError):
        return cpu_name()
    fields = dict(line.split(":", 1) for line in out.splitlines() if ":" in line)
    flags = [f for f in fields.get("Flags", "").split() if f in ISA_FLAGS]
    return f"{fields.get('Model name', cpu_name()).strip()}, {fields.get('CPU(s)', '?').strip()} CPUs, flags: {' '.join(flags)}"
