"""Shared by the benchmarks: the machine they ran on, and writing a generated
Markdown section into benchmarks/README.md between its markers."""

from __future__ import annotations

import os
import platform
import re
from datetime import datetime, timezone
from pathlib import Path

README = Path(__file__).resolve().parent / "README.md"


def machine() -> dict:
    """What the figures were measured on."""
    import psutil

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "platform": platform.platform(), "python": platform.python_version(), "cpu": cpu,
        "cpus": os.cpu_count(), "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "load_average": [round(x, 2) for x in os.getloadavg()],
    }


def machine_line(m: dict, load_end: list[float] | None = None) -> str:
    load = f"load average {m['load_average'][0]:.2f} at the start"
    if load_end is not None:
        load += f", {load_end[0]:.2f} at the end"
    return (f"Measured {m['date']} on {m['cpus']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, "
            f"{m['platform']}, Python {m['python']}; {load}.")


def write_section(name: str, markdown: str, readme: Path = README) -> None:
    """Replace the text between ``<!-- name:start -->`` and ``<!-- name:end -->``."""
    text = readme.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    pattern = re.compile(re.escape(start) + r".*?" + re.escape(end), re.S)
    if not pattern.search(text):
        raise SystemExit(f"{readme}: markers {start} ... {end} not found")
    block = f"{start}\n{markdown.strip()}\n{end}"
    readme.write_text(pattern.sub(lambda _: block, text), encoding="utf-8")
