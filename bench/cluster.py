"""N worker processes per service on one broker, and the figures the bench reads from them.

Workers of one service share the consumer group (same app prefix), so Kafka splits the case
partitions between them; each has its own HTTP port. The bench posts round-robin across the
intake workers. CPU is summed over a service's workers; peak RSS is the largest worker's.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Mapping
from pathlib import Path

from scripts.localsystem import SERVICES, ServiceProcess, free_port


class Cluster:
    """`per_service` processes of each of the four services."""

    def __init__(self, env: Mapping[str, str], log_dir: Path, per_service: int = 1) -> None:
        self.workers: dict[str, list[ServiceProcess]] = {name: [] for name in SERVICES}
        for i in range(per_service):
            logs = log_dir / f"worker-{i}"
            logs.mkdir(parents=True, exist_ok=True)
            for name in SERVICES:
                port = env[f"{name.upper()}_PORT"] if i == 0 else str(free_port())
                worker_env = {**env, f"{name.upper()}_PORT": port}
                self.workers[name].append(ServiceProcess(name, worker_env, logs))

    def start(self, timeout: float = 180.0) -> Cluster:
        for processes in self.workers.values():
            for process in processes:
                process.start()
        try:
            for processes in self.workers.values():
                for process in processes:
                    process.wait_healthy(timeout)
        except Exception:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        for processes in self.workers.values():
            for process in processes:
                process.stop()

    def urls(self, name: str) -> list[str]:
        return [process.url for process in self.workers[name]]

    def pids(self) -> dict[str, list[int]]:
        return {name: [p.proc.pid for p in processes if p.proc is not None]
                for name, processes in self.workers.items()}

    def cpu_seconds(self) -> dict[str, float]:
        """User + system CPU each service has used so far, summed over its workers."""
        return {name: sum(cpu_seconds(pid) for pid in pids) for name, pids in self.pids().items()}

    def kernel_counts(self) -> dict[str, dict[str, float]]:
        """Per service, summed over its workers: CPU in the kernel (s) and read/write system
        calls so far (sockets included), to tell per-message syscall cost from Python work."""
        out: dict[str, dict[str, float]] = {}
        for name, pids in self.pids().items():
            rows = [kernel_counts(pid) for pid in pids]
            out[name] = {key: sum(row[key] for row in rows)
                         for key in ("system_s", "syscr", "syscw")}
        return out

    def rss_mb(self) -> dict[str, float]:
        """The largest current RSS among each service's workers."""
        return {name: round(max(current_rss_mb(pid) for pid in pids), 1)
                for name, pids in self.pids().items() if pids}

    def peak_rss_mb(self) -> dict[str, float]:
        """The largest peak RSS among each service's workers."""
        return {name: round(max(peak_rss_mb(pid) for pid in pids), 1)
                for name, pids in self.pids().items() if pids}


def cpu_seconds(pid: int) -> float:
    """User + system CPU time a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def kernel_counts(pid: int) -> dict[str, float]:
    """A process's system CPU (s) and its read and write system calls so far (/proc/PID/io)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    io = dict(line.split(": ") for line in Path(f"/proc/{pid}/io").read_text().splitlines())
    return {"system_s": int(fields[12]) / os.sysconf("SC_CLK_TCK"),
            "syscr": float(io["syscr"]), "syscw": float(io["syscw"])}


JIT_THREADS = ("C1 CompilerThre", "C2 CompilerThre")  # HotSpot's compiler threads (comm is cut)


def jvm_cpu_seconds(pid: int) -> dict[str, float]:
    """A JVM's CPU so far, split into its JIT compiler threads and everything else.

    A broker started for a bench spends its first minutes compiling Kafka's hot paths (measured
    2026-11-27: 31 s of compiler time in a 57 s run); a broker in service has long finished.
    Counting compilation as cost per referral would charge the pipeline for the JVM's warm-up.
    Threads that ended are missing from /proc/PID/task and are counted with neither.
    """
    jit = work = 0.0
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
            fields = (task / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:  # the thread ended meanwhile
            continue
        seconds = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        if name.startswith(JIT_THREADS):
            jit += seconds
        else:
            work += seconds
    return {"jit": jit, "work": work}


def peak_rss_mb(pid: int) -> float:
    """VmHWM of a process: its peak resident set size."""
    return _status_mb(pid, "VmHWM:")


def current_rss_mb(pid: int) -> float:
    """VmRSS of a process: its resident set size now."""
    return _status_mb(pid, "VmRSS:")


def _status_mb(pid: int, field: str) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(field):
            return int(line.split()[1]) / 1024
    return float("nan")


def load_average() -> float:
    """The machine's one-minute load average (the bench shares its two cores)."""
    return round(os.getloadavg()[0], 2)


def commit() -> str:
    """The checked-out commit, with '+' when the work tree has changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], capture_output=True, text=True,
                              cwd=Path(__file__).parent).stdout.strip()
    dirty = git("status", "--porcelain", "--untracked-files=no")
    return git("rev-parse", "--short", "HEAD") + ("+" if dirty else "")
