"""py-spy around a bench phase: sample each service process, then say where its time went.

`Sampler` starts `py-spy record --format raw` (collapsed stacks, one line per distinct stack
with its sample count) on every pid and stops it with SIGINT, which makes py-spy write its file.
`summarise` reads such a file: the share of samples per frame, counted once per stack
(inclusive) and as the innermost frame (self), and per area (faust, aiokafka, pydantic, ours...).
Idle threads (waiting in epoll) are not sampled, so shares are of CPU time, not of wall time.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from pathlib import Path

AREAS = (  # first match wins; matched against the frame's "function (file)" text
    ("ours: services", "services/"), ("ours: schemas", "schemas/"),
    ("faust/mode", "faust/"), ("faust/mode", "mode/"), ("aiokafka", "aiokafka/"),
    ("pydantic", "pydantic"), ("httpx/httpcore", "httpx/"), ("httpx/httpcore", "httpcore/"),
    ("fastapi/starlette/uvicorn", "fastapi/"), ("fastapi/starlette/uvicorn", "starlette/"),
    ("fastapi/starlette/uvicorn", "uvicorn/"), ("fastapi/starlette/uvicorn", "h11/"),
    ("asyncio", "asyncio/"), ("prometheus_client", "prometheus_client/"),
    ("logging", "logging/"), ("json", "json/"),
)


def py_spy() -> str | None:
    """The py-spy executable beside this interpreter, or on PATH."""
    here = Path(sys.executable).with_name("py-spy")
    return str(here) if here.exists() else shutil.which("py-spy")


class Sampler:
    """py-spy on several processes for the length of a `with` block."""

    def __init__(self, pids: dict[str, int], out_dir: Path, rate: int = 100) -> None:
        self.pids, self.out_dir, self.rate = pids, out_dir, rate
        self.procs: dict[str, subprocess.Popen[bytes]] = {}

    def path(self, name: str) -> Path:
        return self.out_dir / f"{name}.txt"

    def __enter__(self) -> Sampler:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed (requirements-dev.lock)")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for name, pid in self.pids.items():
            self.procs[name] = subprocess.Popen(
                [exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                 "--nonblocking", "--output", str(self.path(name))],
                stdout=subprocess.DEVNULL, stderr=(self.out_dir / f"{name}.err").open("wb"),
            )
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs.values():
            proc.send_signal(signal.SIGINT)
        for proc in self.procs.values():
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


def read_stacks(path: Path) -> list[tuple[list[str], int]]:
    """(frames outermost first, samples) per line of a py-spy raw file."""
    stacks = []
    for line in path.read_text(errors="replace").splitlines():
        text, _, count = line.rpartition(" ")
        if text and count.isdigit():
            stacks.append((text.split(";"), int(count)))
    return stacks


def area_of(frame: str) -> str:
    for area, marker in AREAS:
        if marker in frame:
            return area
    return "other"


def summarise(path: Path, top: int = 15) -> dict[str, object]:
    """Shares (%) of samples: by area of the innermost frame, and the top frames."""
    stacks = read_stacks(path)
    total = sum(n for _, n in stacks) or 1
    self_time: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    areas: collections.Counter[str] = collections.Counter()
    for frames, n in stacks:
        self_time[frames[-1]] += n
        areas[area_of(frames[-1])] += n
        for frame in set(frames):
            inclusive[frame] += n
    pct = lambda n: round(100 * n / total, 1)  # noqa: E731
    return {
        "samples": total,
        "self_by_area_pct": {a: pct(n) for a, n in areas.most_common()},
        "top_self_pct": {f: pct(n) for f, n in self_time.most_common(top)},
        "top_inclusive_pct": {f: pct(n) for f, n in inclusive.most_common(top)
                              if "<module>" not in f and "run_forever" not in f
                              and "_run_once" not in f},
    }


def main(argv: list[str] | None = None) -> int:
    """`python -m bench.profiling FILE...`: print the summary of py-spy raw files."""
    import json

    for name in argv if argv is not None else sys.argv[1:]:
        print(f"== {name}")
        print(json.dumps(summarise(Path(name)), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
