"""The chaos run of tests/e2e/test_chaos.py, bigger: by default 1000 posts x 3 targets, 8 users,
8 publisher kills and 3 relay restarts, with the same fault mix (accept-then-drop,
accept-then-hang and a network slower than the client timeout included, duplicate filters off).
Prints the three figures that must be zero: duplicates on the ledger, targets FAILED whose post
exists, targets lost. Starts its own stack (ports offset by ``SHARECAST_BENCH_PORT_OFFSET`` or
21000), prints
the counts and every broken invariant; exits 1 if any. Not part of ``make test``.

    python tests/bench/bench_chaos.py [--posts 1000] [--kills 8] [--relay-restarts 3]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path[:0] = [
    str(Path(__file__).resolve().parents[2]),
    str(Path(__file__).resolve().parents[2] / "functions"),
]

from infra.localenv import service_env  # noqa: E402
from tests.support.bench import bench_ports  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--posts", type=int, default=1000)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--kills", type=int, default=8)
    parser.add_argument("--relay-restarts", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    ports = bench_ports(21000)
    os.environ.update(service_env(ports))
    from infra.stack import Stack
    from tests.conftest import STACK_ENV
    from tests.support.chaos import ChaosConfig, run_chaos

    stack = Stack(
        ports, workdir=Path(tempfile.mkdtemp(prefix="sharecast-chaos-")), extra_env=STACK_ENV
    )
    started = time.monotonic()
    stack.start()
    print(f"stack started in {time.monotonic() - started:.1f} s")
    try:
        cfg = ChaosConfig(
            posts=args.posts,
            users=args.users,
            publisher_kills=args.kills,
            relay_restarts=args.relay_restarts,
            seed=args.seed,
            timeout_s=900,
            client_timeout_s=float(STACK_ENV["PLATFORM_HTTP_TIMEOUT_S"]),
        )
        result = run_chaos(stack, ports, cfg)
        counts = result.counts()
        print("chaos run:", json.dumps(counts, indent=2))
        print(f"  targets/s: {counts['targets'] / max(result.elapsed_s, 0.001):.1f}")
        problems = result.problems()
        figures = result.figures()
        print(
            "figures: "
            + ", ".join(f"{name} {value}" for name, value in figures.items())
            + f" (faults fired: {json.dumps(counts['faults_fired'])})"
        )
        for problem in problems[:50]:
            print("  BROKEN:", problem)
        print(f"invariants: {'all hold' if not problems else f'{len(problems)} broken'}")
    finally:
        stack.stop()
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
