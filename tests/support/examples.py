"""How many examples a property test draws: its full count in ``make test``, a tenth of it in
``make check`` (``--hypothesis-profile=check``, registered by the root conftest)."""

from __future__ import annotations

from hypothesis import settings

#: The ``check`` profile's ``max_examples``; the default profile's is Hypothesis's 100.
CHECK_EXAMPLES = 10


def examples(full: int) -> int:
    """``full`` under the default profile, scaled by the loaded profile's ``max_examples`` (read
    when the test module is imported, after pytest loaded the profile), never below 10."""
    return max(10, full * settings.default.max_examples // 100)
