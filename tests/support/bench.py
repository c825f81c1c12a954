"""What the benchmarks share: where their own stack listens.

Each bench starts its own stack on the default ports shifted by an offset of its own (so it
runs beside ``make run`` and ``make test``); ``SHARECAST_BENCH_PORT_OFFSET`` moves it, e.g. to
run two benches at once. Offsets stay below 32768, the start of Linux's ephemeral port range.
"""

from __future__ import annotations

import os

from infra.localenv import Ports

#: The variable that overrides a bench's default port offset.
PORT_OFFSET_VARIABLE = "SHARECAST_BENCH_PORT_OFFSET"


def bench_ports(default_offset: int) -> Ports:
    """The stack's ports shifted by ``SHARECAST_BENCH_PORT_OFFSET``, else by
    ``default_offset`` (each port still overridable by its ``{NAME}_PORT`` variable)."""
    return Ports.from_env(offset=int(os.environ.get(PORT_OFFSET_VARIABLE, default_offset)))
