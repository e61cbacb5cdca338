"""Probe GET /api/health at a steady rate, from a process of its own so that nothing in the
load generator (its event loop, its GIL) can delay a probe: what is timed is the server.

    python -m tests.load.health_probe http://127.0.0.1:PORT --seconds 20 --interval 0.05

Each probe opens a fresh connection, as a health checker does. Prints one JSON object:
``{"latencies_ms": [...], "failures": [...]}``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import subprocess
import sys
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]  # not from tests.serverproc: that imports pytest


def probe(base: str, seconds: float, interval: float) -> dict[str, Any]:
    url = urlsplit(base)
    host, port = url.hostname or "127.0.0.1", url.port or 80
    latencies: list[float] = []
    failures: list[str] = []
    start = time.monotonic()
    n = 0
    while time.monotonic() < start + seconds:
        begin = time.perf_counter()
        try:
            connection = http.client.HTTPConnection(host, port, timeout=5)
            try:
                connection.request("GET", "/api/health")
                response = connection.getresponse()
                body = response.read()
            finally:
                connection.close()
            if response.status != 200 or json.loads(body).get("status") != "ok":
                failures.append(f"{response.status} {body[:200]!r}")
        except (OSError, ValueError) as exc:
            failures.append(repr(exc))
        latencies.append((time.perf_counter() - begin) * 1000.0)
        n += 1
        time.sleep(max(0.0, start + n * interval - time.monotonic()))  # a steady rate
    return {"latencies_ms": latencies, "failures": failures}


def start_probe(base: str, seconds: float, interval: float) -> subprocess.Popen[str]:
    """Run :func:`probe` in a subprocess; read its result with :func:`probe_result`."""
    command = [sys.executable, "-m", "tests.load.health_probe", base]
    command += ["--seconds", str(seconds), "--interval", str(interval)]
    return subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)


def probe_result(process: subprocess.Popen[str], timeout: float = 30.0) -> dict[str, Any]:
    out, _ = process.communicate(timeout=timeout)
    if process.returncode != 0:
        raise RuntimeError(f"the health probe exited with {process.returncode}")
    result: dict[str, Any] = json.loads(out)
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("base", help="server base URL")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--interval", type=float, default=0.05)
    args = parser.parse_args()
    print(json.dumps(probe(args.base, args.seconds, args.interval)))


if __name__ == "__main__":
    main()
