"""Load test of `cwoutcomes serve` on loopback: requests per second and latency percentiles
for the main page, a measure page and the JSON API (public and unmasked with a token).

It starts the server itself on 127.0.0.1 with a throw-away application database, runs each
scenario for its share of --duration seconds (bounded: at most 600 s in all) with
--concurrency clients, counts every non-200 answer or failed request as an error, stops the
server and exits 1 if there was any error.

    python benchmarks/web_load.py --results out/demo/results.parquet --duration 60
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx

MAX_DURATION = 600


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[index]


async def scenario(base: str, path: str, seconds: float, concurrency: int, headers: dict) -> dict:
    latencies: list[float] = []
    errors: dict[str, int] = {}
    deadline = time.perf_counter() + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30, headers=headers) as client:
        async def worker():
            while time.perf_counter() < deadline:
                start = time.perf_counter()
                try:
                    response = await client.get(path)
                    await response.aread()
                    ok = response.status_code == 200
                    key = None if ok else f"HTTP {response.status_code}"
                except httpx.HTTPError as exc:
                    key = type(exc).__name__
                if key is None:
                    latencies.append(time.perf_counter() - start)
                else:
                    errors[key] = errors.get(key, 0) + 1

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        elapsed = time.perf_counter() - started
    ms = [v * 1000 for v in latencies]
    return {
        "path": path, "requests": len(ms), "errors": sum(errors.values()), "error_kinds": errors,
        "seconds": round(elapsed, 1), "requests_per_second": round(len(ms) / elapsed, 1),
        "p50_ms": round(percentile(ms, 50), 1), "p90_ms": round(percentile(ms, 90), 1),
        "p99_ms": round(percentile(ms, 99), 1), "max_ms": round(max(ms), 1) if ms else None,
        "mean_ms": round(statistics.fmean(ms), 1) if ms else None,
    }


def start_server(results: Path, data: Path | None, folder: Path) -> tuple[subprocess.Popen, str, str]:
    cli = [sys.executable, "-m", "cwoutcomes.cli"]
    app_db = folder / "app.sqlite"
    subprocess.run([*cli, "users", "add", "loadtest", "--role", "state", "--no-password", "--app-db", str(app_db)],
                   check=True, capture_output=True, text=True)
    token = subprocess.run([*cli, "users", "token", "loadtest", "--app-db", str(app_db)], check=True,
                           capture_output=True, text=True).stdout.split("shown once):")[1].split()[0]
    port = free_port()
    command = [*cli, "serve", str(results), "--port", str(port), "--app-db", str(app_db), "--insecure-cookies"]
    if data is not None:
        command += ["--data", str(data)]
    log = open(folder / "server.log", "w")
    process = subprocess.Popen(command, stdout=log, stderr=log, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    base = f"http://127.0.0.1:{port}"
    deadline = time.time() + 300
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2):
                return process, base, token
        except OSError:
            if process.poll() is not None or time.time() > deadline:
                process.kill()
                raise SystemExit("server did not start:\n" + (folder / "server.log").read_text())
            time.sleep(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--results", type=Path, default=Path("out/demo/results.parquet"))
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--duration", type=float, default=60, help="seconds in all, shared by the scenarios")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--measure", default="4-P1")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    duration = min(args.duration, MAX_DURATION)
    folder = Path(tempfile.mkdtemp(prefix="cwoutcomes-load-"))
    started = time.time()
    process, base, token = start_server(args.results, args.data, folder)
    startup = time.time() - started
    m = args.measure
    scenarios = [
        ("main page", "/", {}),
        ("measure page (trend)", f"/measures/{m}/state", {}),
        ("API results, public", f"/api/results?measure={m}&county=state&stratum=all", {}),
        ("API results, unmasked (state token, audited)", f"/api/results?measure={m}&county=state&stratum=all",
         {"Authorization": f"Bearer {token}"}),
    ]
    rows = []
    try:
        for name, path, headers in scenarios:
            # A few requests first so that one-off work (chart specs, caches) is not measured.
            for _ in range(3):
                httpx.get(base + path, headers=headers, timeout=60)
            result = asyncio.run(scenario(base, path, duration / len(scenarios), args.concurrency, headers))
            rows.append({"scenario": name, **result})
            print(f"{name:48s} {result['requests_per_second']:8.1f} req/s  p50 {result['p50_ms']:7.1f} ms  "
                  f"p90 {result['p90_ms']:7.1f} ms  p99 {result['p99_ms']:7.1f} ms  errors {result['errors']}")
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
    summary = {"results": str(args.results), "concurrency": args.concurrency, "duration_s": duration,
               "server_startup_s": round(startup, 1), "cpus": os.cpu_count(), "scenarios": rows}
    print(json.dumps(summary, indent=1))
    if args.json:
        args.json.write_text(json.dumps(summary, indent=1))
    return 1 if any(r["errors"] for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
