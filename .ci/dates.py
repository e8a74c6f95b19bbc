"""Run the tests that touch dates with the system clock moved (Debian's ``faketime``).

Three dates, drawn at random from a range and printed so that a failure can be replayed:
the last minutes of a month, a moment of 29 February, and 31 December at 23:59. The clock
starts there and runs on, so each run crosses midnight (and a month, a year) while it works.

    python .ci/dates.py                       # three dates drawn from a random seed
    python .ci/dates.py --seed 1234           # the same three dates again
    python .ci/dates.py --date '2028-02-29 23:58:30'  [--date ...]   # exactly these
    python .ci/dates.py -- -k billing         # arguments after -- go to pytest

Exit status: 0 when every date passed, else 1 (2 when faketime is missing).
``FAKETIME_DONT_FAKE_MONOTONIC`` is left unset: with it, Python's ``time.sleep`` fails.
"""

from __future__ import annotations

import argparse
import calendar
import os
import random
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
#: The tests that read or compare dates: the uplink and the collector, alerts, the store's
#: history and views, the scheduler. Tests marked ``faketime_unsafe`` (thread-lock waits with
#: timeouts, which libfaketime can hang) stay out.
DATE_TESTS = [
    "tests/uplink",
    "tests/collector",
    "tests/alerts",
    "tests/store",
    "tests/scheduler/test_scheduler.py",
]
YEARS = range(2026, 2040)
LEAP_YEARS = [y for y in range(2028, 2060) if calendar.isleap(y)]


def draw(rng: random.Random) -> list[str]:
    """A month's last minutes, 29 February, 31 December 23:59 (seconds drawn too)."""
    year, month = rng.choice(YEARS), rng.randint(1, 12)
    last = calendar.monthrange(year, month)[1]
    month_end = f"{year}-{month:02d}-{last:02d} 23:{rng.randint(50, 58):02d}:{rng.randint(0, 59):02d}"
    leap = f"{rng.choice(LEAP_YEARS)}-02-29 {rng.randint(0, 23):02d}:{rng.randint(0, 59):02d}:00"
    year_end = f"{rng.choice(YEARS)}-12-31 23:59:{rng.randint(0, 40):02d}"
    return [month_end, leap, year_end]


def main(argv: list[str]) -> int:
    pytest_args: list[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, pytest_args = argv[:at], argv[at + 1 :]
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seed", type=int, help="draw the dates from this seed (printed on every run)")
    parser.add_argument("--date", action="append", default=[], help="run at this date (repeatable)")
    args = parser.parse_args(argv)
    faketime = shutil.which("faketime")
    if faketime is None:
        print("faketime is not installed (make system-deps installs Debian's faketime)", file=sys.stderr)
        return 2
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 32)
    dates = args.date or draw(random.Random(seed))
    print(f"dates: {', '.join(dates)} (seed {seed}; replay: python .ci/dates.py --seed {seed})", flush=True)
    env = {k: v for k, v in os.environ.items() if k != "FAKETIME_DONT_FAKE_MONOTONIC"}
    failed = []
    for date in dates:
        print(f"--- the date-touching tests at {date}", flush=True)
        command = [
            faketime, date, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
            "-m", "not slow and not faketime_unsafe", *(pytest_args or DATE_TESTS),
        ]  # fmt: skip
        if subprocess.run(command, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, check=False).returncode:
            failed.append(date)
    if failed:
        print(f"failed at {', '.join(failed)}; replay one: python .ci/dates.py --date '{failed[0]}'")
        return 1
    print(f"every date passed (seed {seed})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
