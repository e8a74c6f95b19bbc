"""The package's own printer fleet: built-in printer models, written as data from public facts
(RFC 3805 Printer-MIB, RFC 2790 HOST-RESOURCES-MIB, IF-MIB and the vendors' meter OIDs that
``printwatch.mib`` reads), served by the fleet simulator with no file outside the package.

>>> from printwatch import catalogue
>>> with catalogue.simulator(count=100, port=0, dynamics=True) as sim:  # doctest: +SKIP
...     sim.printer(0)["recording"]       # the model's id, e.g. 'brother_hl_l2350dw'
>>> catalogue.export("models/")           # doctest: +SKIP
... # one .snmprec file per model, for snmpsim or `printwatch simulate --recordings`

Each model is rendered to ``.snmprec`` text (:mod:`printwatch.catalogue.render`) and handed to
the Rust simulator like a recording, so every printer gets the simulator's per-printer identity
(serial number, MAC address, sysName) and, when asked, its dynamics. See docs/simulator.md.

Error handling: :func:`select` raises ``ValueError`` naming an unknown model; :func:`simulator`
raises what :class:`printwatch.sim.Simulator` raises; :func:`export` raises ``OSError`` when
the folder cannot be written.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from printwatch.catalogue.models import Model, Supply, Tray, load_models, select
from printwatch.catalogue.notes import notes
from printwatch.catalogue.render import snmprec, status_of
from printwatch.sim import Simulator

__all__ = ["Model", "Supply", "Tray", "export", "load_models", "select", "simulator", "snmprec", "status_of"]


def _models(models: Sequence[Model | str] | None) -> list[Model]:
    """All models, or those given (models, or names: ids, vendors, kinds), each once, in order."""
    if models is None:
        return list(load_models())
    out: dict[str, Model] = {}
    for item in models:
        for m in [item] if isinstance(item, Model) else select([item]):
            out.setdefault(m.id, m)
    return list(out.values())


def export(folder: Path | str, models: Sequence[Model | str] | None = None) -> list[Path]:
    """Writes each model (all of them, or those named: ids, vendors or kinds) as
    ``<id>.snmprec`` in ``folder`` (made if missing), with its notes for the simulator beside it
    (``<id>.meta``: :mod:`printwatch.catalogue.notes`); returns the ``.snmprec`` files, in fleet
    order."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for model in _models(models):
        path = folder / f"{model.id}.snmprec"
        path.write_text(snmprec(model), encoding="ascii")
        path.with_suffix(".meta").write_text(notes(model), encoding="ascii")
        paths.append(path)
    return paths


def simulator(models: Sequence[Model | str] | None = None, **options: Any) -> Simulator:
    """A :class:`~printwatch.sim.Simulator` serving the built-in models (all, or those named),
    printer ``i`` being model ``i % n`` in fleet order (one vendor after another in turn).
    ``options`` are the Simulator's (``count``, ``base``, ``port``, ``dynamics``...).

    The models are rendered into a temporary folder that is gone when this returns: the
    simulator reads its recordings once, when it is made."""
    with tempfile.TemporaryDirectory(prefix="printwatch-models-") as folder:
        return Simulator(export(folder, models), **options)
