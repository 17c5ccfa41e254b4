#!/usr/bin/env python3
"""Run a real single-node Apache Kafka (KRaft) broker on loopback, without Docker.

Stdlib only, so it works before the project's venv exists. The broker jars come from
Maven Central via `mvn` and are cached per Kafka version: only the first `fetch` needs
the network.

    scripts/kafka_local.py fetch [--version V]
    scripts/kafka_local.py start [--port 9092] [--controller-port 9093] [--data-dir DIR]
    scripts/kafka_local.py stop|status [--port P] [--data-dir DIR]

Env defaults: KAFKA_LOCAL_PORT, KAFKA_LOCAL_CONTROLLER_PORT (port+1), KAFKA_LOCAL_DATA
(<home>/data-<port>), KAFKA_VERSION, KAFKA_LOCAL_HOME (<repo>/.kafka-local).
Importable: fetch(), start(port=, controller_port=, data_dir=) -> pid, stop(data_dir=),
is_running(data_dir=), running_pid(data_dir=), configured_port(data_dir).
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import fcntl
import os
import signal
import socket
import struct
import subprocess
import sys
import time
import uuid
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# 4.4.0 is on Central but incomplete (no kafka-tools-api jar), so its POM cannot resolve.
DEFAULT_VERSION = "4.3.1"
# The published kafka_2.13 POM has no logging backend; add log4j2 at the version each release
# line ships (kafka-server POM / gradle/dependencies.gradle). Kafka 4.x still uses slf4j 1.x,
# hence the log4j-slf4j-impl binding, not log4j-slf4j2-impl.
LOG4J_VERSIONS = {"4.0": "2.24.3", "4.1": "2.24.3", "4.2": "2.25.3", "4.3": "2.25.4"}
LOG4J_VERSIONS["4.4"] = "2.25.5"
SLF4J_VERSION = "1.7.36"
# Kafka's own launcher flags (kafka-run-class.sh) with a fixed 512 MiB heap.
JVM_FLAGS = """-Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20
-XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent -Djava.awt.headless=true"""
MARKER = ".fetch-complete"
PID_FILE, OUT_FILE, PROPS_FILE = "broker.pid", "broker.out", "server.properties"
LOG_DIR = "kraft-logs"  # Kafka's log.dirs, a subdirectory so our pid/log files stay outside it
# Brokers started by this process, kept so stop() can reap them (no zombies, no ResourceWarning).
_CHILDREN: dict[int, subprocess.Popen] = {}


class KafkaLocalError(RuntimeError):
    pass


def _home() -> Path:
    return Path(os.environ.get("KAFKA_LOCAL_HOME") or REPO / ".kafka-local")


def _version(version: str | None = None) -> str:
    return version or os.environ.get("KAFKA_VERSION") or DEFAULT_VERSION


def _port(port: int | None = None) -> int:
    return int(port or os.environ.get("KAFKA_LOCAL_PORT") or 9092)


def _data_dir(data_dir: str | os.PathLike | None = None, port: int | None = None) -> Path:
    if data_dir:
        return Path(data_dir).resolve()
    env = os.environ.get("KAFKA_LOCAL_DATA")
    return Path(env).resolve() if env else _home() / f"data-{_port(port)}"


# ------------------------------------------------------------------------------------ fetch
POM = """<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka</groupId><artifactId>kafka-local</artifactId>
  <version>1</version><packaging>pom</packaging>
  <dependencies>{deps}
  </dependencies>
</project>
"""
DEP = "\n    <dependency><groupId>{}</groupId><artifactId>{}</artifactId><version>{}</version>"
# Root at INFO to <data dir>/server.log; per-partition, raft and config-dump chatter at WARN.
# "Kafka Server started" is logged by kafka.server.KafkaRaftServer at INFO and stays visible.
LOG4J2 = """status = warn
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = ${sys:kafka.logs.dir}/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
logger.started.name = kafka.server.KafkaRaftServer
logger.started.level = INFO
"""
NOISY_LOGGERS = """org.apache.kafka.common.config.AbstractConfig
org.apache.kafka.common.utils.AppInfoParser org.apache.kafka.storage org.apache.kafka.raft
org.apache.kafka.controller org.apache.kafka.metadata org.apache.kafka.image
org.apache.kafka.clients org.apache.kafka.coordinator org.apache.kafka.server kafka.log
kafka.cluster kafka.coordinator kafka.network kafka.raft kafka.server.metadata
kafka.server.ReplicaFetcherManager kafka.server.ReplicaAlterLogDirsManager
state.change.logger"""


def fetch(version: str | None = None, quiet: bool = False) -> Path:
    """Download the broker jars once into <home>/<version>/libs; returns that directory."""
    version = _version(version)
    vdir = _home() / version
    libs = vdir / "libs"
    _write_log4j_config(vdir)
    if (libs / MARKER).exists():
        return libs
    release_line = ".".join(version.split(".")[:2])
    log4j = os.environ.get("KAFKA_LOCAL_LOG4J_VERSION") or LOG4J_VERSIONS.get(release_line)
    if not log4j:
        raise KafkaLocalError(f"no log4j version known for Kafka {version}: set it in env")
    deps = [("org.apache.kafka", "kafka_2.13", version), ("org.slf4j", "slf4j-api", SLF4J_VERSION)]
    for artifact in ("log4j-api", "log4j-core", "log4j-slf4j-impl"):
        deps.append(("org.apache.logging.log4j", artifact, log4j))
    pom = "".join(DEP.format(*dep) + "</dependency>" for dep in deps)
    (vdir / "pom.xml").write_text(POM.format(deps=pom))
    tmp = vdir / "libs.tmp"  # copy into a scratch dir so an interrupted fetch never looks complete
    subprocess.run(["rm", "-rf", str(tmp), str(libs)], check=True)
    if not quiet:
        print(f"fetching Kafka {version} (log4j {log4j}) with Maven ...", file=sys.stderr)
    cmd = ["mvn", "-q", "-B", "-f", str(vdir / "pom.xml"), "dependency:copy-dependencies"]
    cmd += [f"-DoutputDirectory={tmp}", "-DincludeScope=runtime"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    if proc.returncode != 0:
        raise KafkaLocalError(f"mvn failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    (tmp / MARKER).write_text("".join(f"{p.name}\n" for p in sorted(tmp.glob("*.jar"))))
    tmp.rename(libs)
    return libs


def _write_log4j_config(vdir: Path) -> Path:
    vdir.mkdir(parents=True, exist_ok=True)
    noisy = enumerate(NOISY_LOGGERS.split())
    text = LOG4J2 + "".join(f"logger.n{i}.name = {n}\nlogger.n{i}.level = WARN\n" for i, n in noisy)
    path = vdir / "log4j2.properties"
    if not path.exists() or path.read_text() != text:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(text)
        tmp.replace(path)  # atomic, so a broker starting concurrently never reads half a file
    return path


# ------------------------------------------------------------------------- process checks
def _is_our_broker(pid: int, data_dir: Path) -> bool:
    """True if pid is a live kafka.Kafka JVM for this data dir (a recycled pid is not)."""
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our own dead child, else it stays a zombie
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    props = str(data_dir / PROPS_FILE).encode()
    return state != "Z" and b"kafka.Kafka" in cmdline and props in cmdline


def running_pid(data_dir=None, port=None) -> int | None:
    """Pid of the broker that owns data_dir, or None."""
    data_dir = _data_dir(data_dir, port)
    try:
        pid = int((data_dir / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _is_our_broker(pid, data_dir) else None


def is_running(data_dir=None, port=None) -> bool:
    return running_pid(data_dir, port) is not None


def configured_port(data_dir: Path) -> int | None:
    """The broker port written into data_dir's server.properties, if any."""
    with contextlib.suppress(OSError, IndexError, ValueError):
        props = (data_dir / PROPS_FILE).read_text()
        return int(props.split("advertised.listeners=PLAINTEXT://127.0.0.1:", 1)[1].split()[0])
    return None


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _metadata_ok(port: int) -> bool:
    """Raw Metadata v4 request (v0-v3 are gone in Kafka 4): the broker must list itself."""
    client = b"kafka-local"
    # Header v1: api_key 3, version 4, correlation id 7, client id. Body: all topics, no autocreate
    body = struct.pack(">hhih", 3, 4, 7, len(client)) + client + struct.pack(">ib", -1, 0)
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=3) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            resp = _recv(sock, struct.unpack(">i", _recv(sock, 4))[0])
        correlation_id, _throttle_ms, brokers = struct.unpack_from(">iii", resp)
        if correlation_id != 7 or brokers < 1:
            return False
        host_len = struct.unpack_from(">h", resp, 16)[0]  # first broker: node_id, host, port
        return struct.unpack_from(">i", resp, 18 + host_len)[0] == port
    except (OSError, struct.error):
        return False


def _recv(sock: socket.socket, size: int) -> bytes:
    buf = b""
    while len(buf) < size:
        chunk = sock.recv(size - len(buf))
        if not chunk:
            raise OSError("connection closed")
        buf += chunk
    return buf


def _tails(data_dir: Path, lines: int = 30) -> str:
    out = []
    for name in ("server.log", OUT_FILE):
        with contextlib.suppress(OSError):
            text = (data_dir / name).read_text(errors="replace").splitlines()[-lines:]
            out.append(f"--- {name} (tail) ---\n" + "\n".join(text))
    return "\n".join(out)


# ------------------------------------------------------------------------------ start/stop
SERVER_PROPERTIES = """process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
listeners=PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners=PLAINTEXT://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs={log_dir}
# One broker: every internal topic must fit on it. Few internal partitions: fast first join.
offsets.topic.replication.factor=1
offsets.topic.num.partitions=4
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
share.coordinator.state.topic.num.partitions=4
default.replication.factor=1
min.insync.replicas=1
# Test consumer groups start at once instead of waiting 3 s for more members.
group.initial.rebalance.delay.ms=0
# Services must create their topics explicitly, with the partition counts they intend.
auto.create.topics.enable=false
num.partitions=4
# Local disk hygiene: keep a day or 256 MiB per partition, in 16 MiB segments.
log.retention.hours=24
log.retention.bytes=268435456
log.segment.bytes=16777216
log.retention.check.interval.ms=60000
# The log cleaner looks for work every second (default 15 s), so a test that forces compaction
# (erasure, docs/security.md) sees it promptly.
log.cleaner.backoff.ms=1000
"""


def start(port=None, controller_port=None, data_dir=None, version=None, timeout=90.0) -> int:
    """Start the broker for data_dir (or find it running); returns its pid once it is ready."""
    port = _port(port)
    controller_port = controller_port or os.environ.get("KAFKA_LOCAL_CONTROLLER_PORT")
    controller_port = int(controller_port or port + 1)
    data_dir = _data_dir(data_dir, port)
    data_dir.mkdir(parents=True, exist_ok=True)
    with open(data_dir / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # concurrent starts on one data dir: exactly one JVM
        pid = running_pid(data_dir)
        if pid:  # wait in case its own start is still under way, on the port it really uses
            live_port = configured_port(data_dir) or port
            _wait_ready(lambda: _is_our_broker(pid, data_dir), live_port, data_dir, timeout)
            return pid
        (data_dir / PID_FILE).unlink(missing_ok=True)  # stale: its process is gone
        busy = [p for p in (port, controller_port) if _port_open(p)]
        if busy:
            raise KafkaLocalError(f"port(s) {busy} already in use by another process")
        libs = fetch(version)
        props = data_dir / PROPS_FILE
        log_dir = data_dir / LOG_DIR
        text = SERVER_PROPERTIES.format(port=port, controller_port=controller_port, log_dir=log_dir)
        props.write_text(text)
        java = f"{os.environ['JAVA_HOME']}/bin/java" if os.environ.get("JAVA_HOME") else "java"
        log4j = libs.parent / "log4j2.properties"
        # The JVM expands the classpath wildcard itself.
        base = [java, f"-Dlog4j2.configurationFile={log4j}", f"-Dkafka.logs.dir={data_dir}"]
        base += ["-cp", str(libs / "*")]
        if not (log_dir / "meta.properties").exists():  # format once; later starts skip a JVM boot
            cluster_id = "-"
            while cluster_id.startswith("-"):  # would parse as an option (Kafka avoids it too)
                cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
            fmt = ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(props)]
            fmt.append("--ignore-formatted")
            proc = subprocess.run([*base, *fmt], capture_output=True, text=True)
            if proc.returncode != 0:
                raise KafkaLocalError(f"storage format failed:\n{proc.stdout}\n{proc.stderr}")
        with open(data_dir / OUT_FILE, "ab") as out:
            # Own session: the caller's Ctrl-C or exit does not take the broker down with it.
            broker = subprocess.Popen(
                [*base[:1], *JVM_FLAGS.split(), *base[1:], "kafka.Kafka", str(props)],
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=data_dir,
                start_new_session=True,
            )
        (data_dir / PID_FILE).write_text(f"{broker.pid}\n")
        try:
            # Liveness from the Popen handle: just after exec, /proc/<pid>/cmdline can be empty.
            _wait_ready(lambda: broker.poll() is None, port, data_dir, timeout)
        except BaseException:  # Ctrl-C included: never leave a half-started JVM behind
            broker.kill()
            broker.wait()
            (data_dir / PID_FILE).unlink(missing_ok=True)
            raise
        _CHILDREN[broker.pid] = broker
        return broker.pid


def _wait_ready(alive: Callable[[], bool], port: int, data_dir: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            raise KafkaLocalError(f"broker exited during startup\n{_tails(data_dir)}")
        if _port_open(port) and _metadata_ok(port):
            return
        time.sleep(0.25)
    raise KafkaLocalError(
        f"broker not ready on port {port} after {timeout:.0f}s\n{_tails(data_dir)}"
    )


def stop(data_dir=None, port=None, timeout: float = 30.0) -> bool:
    """SIGTERM the broker, SIGKILL after `timeout` s; returns False if none was running."""
    data_dir = _data_dir(data_dir, port)
    pid = running_pid(data_dir)
    if pid:
        os.kill(pid, signal.SIGTERM)  # controlled shutdown, so the next start skips log recovery
        deadline = time.monotonic() + timeout
        while _is_our_broker(pid, data_dir) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _is_our_broker(pid, data_dir):
            os.kill(pid, signal.SIGKILL)
            while _is_our_broker(pid, data_dir):
                time.sleep(0.1)
        if pid in _CHILDREN:
            _CHILDREN.pop(pid).wait()
    (data_dir / PID_FILE).unlink(missing_ok=True)
    return pid is not None


# ------------------------------------------------------------------------------------- CLI
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("fetch", help="download and cache the broker jars").add_argument("--version")
    for name in ("start", "stop", "status"):
        cmd = sub.add_parser(name)
        cmd.add_argument("--port", type=int, help="broker port; also picks the default data dir")
        cmd.add_argument("--data-dir")
    sub.choices["start"].add_argument("--controller-port", type=int)
    sub.choices["start"].add_argument("--timeout", type=float, default=90.0)
    args = parser.parse_args(argv)
    began = time.monotonic()
    try:
        if args.command == "fetch":
            libs = fetch(args.version)
            jars = len(list(libs.glob("*.jar")))
            print(f"{libs}: {jars} jars ({time.monotonic() - began:.1f}s)")
            return 0
        data_dir = _data_dir(args.data_dir, args.port)
        if args.command == "start":
            pid = start(args.port, args.controller_port, data_dir, timeout=args.timeout)
            fresh = pid in _CHILDREN  # else another start launched it
            state = f"started in {time.monotonic() - began:.1f}s" if fresh else "already running"
            print(f"kafka {state}: pid {pid}, port {configured_port(data_dir)}, {data_dir}")
        elif args.command == "stop":
            print("kafka stopped" if stop(data_dir) else f"kafka not running ({data_dir})")
        else:
            live = running_pid(data_dir)
            if not live:
                print(f"not running ({data_dir})")
                return 3
            print(f"running: pid {live}, port {configured_port(data_dir)}, {data_dir}")
    except KafkaLocalError as exc:
        print(f"kafka_local: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
