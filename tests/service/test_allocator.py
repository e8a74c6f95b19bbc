"""glibc's malloc as the appliance sets it (service/memory.py's configure_allocator): large
buffers given back when freed, however large a buffer was freed before; an operator's own
malloc settings left alone. pyarrow's buffers from that malloc (configure_arrow_pool), not
from its mimalloc, which keeps what was freed. Each case runs in a process of its own (the
setting is the process's)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest
from printwatch.service.memory import OPERATORS_OWN, configure_allocator, configure_arrow_pool

GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
# The subprocesses' environment without malloc settings of the machine's own.
CLEAN = {
    k: v
    for k, v in os.environ.items()
    if k not in OPERATORS_OWN and k not in ("GLIBC_TUNABLES", "ARROW_DEFAULT_MEMORY_POOL")
}

# Frees a 4 MB buffer (which raises glibc's own threshold for mapping blocks apart), then makes
# 120 MB of 600 KB buffers, each followed by a small block that stays, and frees the buffers:
# prints how many MB the process grew by, and how many it still holds.
FRAGMENTS = """
import sys
from printwatch.service.memory import configure_allocator, resident_bytes
if sys.argv[1] == "on":
    assert configure_allocator({})
b = bytearray(4 << 20)
del b
before = resident_bytes()
big, pins = [], []
for _ in range(200):
    big.append(bytearray(600 << 10))
    pins.append(bytearray(2000))
grown = resident_bytes()
del big
print((grown - before) >> 20, (resident_bytes() - before) >> 20)
"""


def grown_and_kept(setting: str) -> tuple[int, int]:
    command = [sys.executable, "-c", FRAGMENTS, setting]
    out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=CLEAN)
    grown, kept = (int(v) for v in out.stdout.split())
    return grown, kept


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc")
def test_freed_buffers_go_back_to_the_system_with_the_setting_and_stay_without() -> None:
    grown, kept = grown_and_kept("on")
    assert grown >= 100 and kept <= 10, (grown, kept)
    grown, kept = grown_and_kept("off")  # glibc's default: the freed buffers stay resident
    assert grown >= 100 and kept >= 80, (grown, kept)


@pytest.mark.parametrize(
    "environ",
    [
        {"MALLOC_ARENA_MAX": "4"},
        {"MALLOC_MMAP_THRESHOLD_": "65536"},
        {"MALLOC_TRIM_THRESHOLD_": "0", "MALLOC_CONF": "narenas:1"},
        {"GLIBC_TUNABLES": "glibc.malloc.arena_max=4"},
        {"GLIBC_TUNABLES": "glibc.rtld.optional_static_tls=512:glibc.malloc.trim_threshold=0"},
    ],
)
def test_an_operators_own_malloc_settings_are_left_alone(environ: dict[str, str]) -> None:
    assert configure_allocator(environ) is False


def test_other_tunables_do_not_stop_it() -> None:
    script = (
        "from printwatch.service.memory import configure_allocator\n"
        "print(configure_allocator({'GLIBC_TUNABLES': 'glibc.rtld.optional_static_tls=512',"
        " 'MALLOC_CONF': 'x'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert out.stdout.strip() == ("True" if sys.platform.startswith("linux") else "False")


# 200 Arrow arrays of 400 KB, each followed by a small one that stays, then the large ones
# freed: prints the pool's name, how many MB the process grew by, and how many it still holds.
ARROW_BUFFERS = """
import sys
from printwatch.service.memory import configure_allocator, configure_arrow_pool, resident_bytes
configure_allocator({})
if sys.argv[1] == "on":
    assert configure_arrow_pool({})
import pyarrow as pa
before = resident_bytes()
arrays, pins = [], []
for k in range(200):
    arrays.append(pa.array(range(k * 50_000, (k + 1) * 50_000), pa.int64()))
    pins.append(pa.array([k], pa.int64()))
grown = resident_bytes()
del arrays
print(pa.default_memory_pool().backend_name, (grown - before) >> 20, (resident_bytes() - before) >> 20)
"""


@pytest.mark.skipif(not GLIBC, reason="glibc's malloc")
def test_arrow_buffers_go_back_with_the_system_pool_and_stay_with_its_own() -> None:
    def run(setting: str) -> tuple[str, int, int]:
        command = [sys.executable, "-c", ARROW_BUFFERS, setting]
        out = subprocess.run(command, capture_output=True, text=True, timeout=60, check=True, env=CLEAN)
        pool, grown, kept = out.stdout.split()
        return pool, int(grown), int(kept)

    pool, grown, kept = run("on")
    assert pool == "system" and grown >= 60 and kept <= 10, (pool, grown, kept)
    pool, grown, kept = run("off")  # pyarrow's own pool: the freed buffers stay resident
    assert pool != "system" and grown >= 60 and kept >= 50, (pool, grown, kept)


def test_an_operators_own_arrow_pool_is_left_alone() -> None:
    import pyarrow as pa

    before = pa.default_memory_pool().backend_name
    assert configure_arrow_pool({"ARROW_DEFAULT_MEMORY_POOL": "mimalloc"}) is False
    assert pa.default_memory_pool().backend_name == before
