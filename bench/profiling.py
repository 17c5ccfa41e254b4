"""py-spy around a bench phase: sample each service process, then say where its time went.

`Sampler` starts `py-spy record --format raw` (collapsed stacks, one line per distinct stack
with its sample count) on every pid and stops it with SIGINT, which makes py-spy write its file.
`summarise` reads such a file: the share of samples per frame, counted once per stack
(inclusive) and as the innermost frame (self), and per area (faust, aiokafka, pydantic, ours...).
Idle threads are left out (py-spy skips one waiting in epoll; `IDLE_FRAMES` names the waits it
cannot see under uvloop), so shares are of CPU time, not of wall time.
"""

from __future__ import annotations

import collections
import shutil
import signal
import subprocess
import sys
from collections.abc import Mapping, Sequence
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
    """py-spy on every worker process of every service for the length of a `with` block."""

    def __init__(self, pids: Mapping[str, Sequence[int]], out_dir: Path, rate: int = 100) -> None:
        self.out_dir, self.rate = out_dir, rate
        self.targets = {f"{name}-{i}": pid for name, group in pids.items()
                        for i, pid in enumerate(group)}
        self.procs: list[subprocess.Popen[bytes]] = []

    def paths(self) -> list[tuple[str, Path]]:
        """(worker label, its raw stacks file) for every sampled process."""
        return [(label, self.out_dir / f"{label}.txt") for label in self.targets]

    def __enter__(self) -> Sampler:
        exe = py_spy()
        if exe is None:
            raise RuntimeError("py-spy is not installed (requirements-dev.lock)")
        self.out_dir.mkdir(parents=True, exist_ok=True)
        for (label, path), pid in zip(self.paths(), self.targets.values(), strict=True):
            self.procs.append(subprocess.Popen(
                [exe, "record", "--pid", str(pid), "--rate", str(self.rate), "--format", "raw",
                 "--nonblocking", "--output", str(path)],
                stdout=subprocess.DEVNULL, stderr=(self.out_dir / f"{label}.err").open("wb"),
            ))
        return self

    def __exit__(self, *exc: object) -> None:
        for proc in self.procs:
            proc.send_signal(signal.SIGINT)  # py-spy writes its file when interrupted
        for proc in self.procs:
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                proc.kill()


# Innermost frames that mean "waiting", not working. py-spy leaves out a thread that is in
# epoll under the stdlib loop, but not uvloop's loop (its wait is in C, under the frame that
# called run), nor faust's worker thread and the main thread waiting on a condition.
IDLE_FRAMES = ("Runner.run (", "run_until_complete (", "Worker.execute_from_commandline (",
               "ServiceThread._start_thread (", "Condition.wait (", "Event.wait (")


def is_idle(frames: Sequence[str]) -> bool:
    """True for a stack that is an event loop or thread waiting (see IDLE_FRAMES)."""
    return bool(frames) and frames[-1].startswith(IDLE_FRAMES)


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
    """Shares (%) of the busy samples (idle stacks left out): by area of the innermost frame,
    and the top frames."""
    every = read_stacks(path)
    stacks = [(frames, n) for frames, n in every if not is_idle(frames)]
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
        "idle_samples_left_out": sum(n for _, n in every) - sum(n for _, n in stacks),
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
