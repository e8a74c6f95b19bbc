"""The built-in models exported with ``printwatch simulate --export-snmprec`` and served by an
independent agent, snmpsim: printwatch reads the same poll documents from snmpsim as from its
own simulator (identity off, so both answer exactly the exported data)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from printwatch import catalogue
from printwatch.engine import Engine
from printwatch.poller.documents import community_targets, poll_documents

from tests.support.peers import running_snmpsim

#: Per poll: where the document was read from and how long it took, not what the printer said.
TRANSPORT = ("target", "time", "rtt_ms", "wire")


def document(doc: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in doc.items() if k not in TRANSPORT}


def test_snmpsim_serves_the_exported_models_as_printwatch_does(tmp_path: Path) -> None:
    models = catalogue.load_models()
    out = tmp_path / "models"
    done = subprocess.run(
        [sys.executable, "-m", "printwatch.cli", "simulate", "--export-snmprec", str(out)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    files = sorted(out.glob("*.snmprec"))
    assert [f.stem for f in files] == sorted(m.id for m in models)
    assert done.stdout.startswith(f"wrote {len(models)} built-in models to {out}")
    engine = Engine(timeout_s=3.0, retries=1)
    with catalogue.simulator(count=len(models), base="127.27.0.1", port=0, identity=False) as sim:
        addresses = [(m.id, f"127.27.0.{i + 1}", sim.port) for i, m in enumerate(models)]
        ours = poll_documents(addresses, community_targets("public"), engine=engine)
    (tmp_path / "snmpsim").mkdir()
    with running_snmpsim(tmp_path / "snmpsim", files) as port:
        # snmpsim serves each file under the community named after it, in every version: ask
        # it in the one the model's firmware speaks (the simulator's v1-only models drop v2c)
        theirs = [
            poll_documents(
                [(m.id, "127.0.0.1", port)], community_targets(m.id, m.versions[-1]), engine=engine
            )[0]
            for m in models
        ]
    for model, a, b in zip(models, ours, theirs, strict=True):
        assert b["reachable"], (model.id, b)
        assert document(a) == document(b), model.id
        assert b["serial"] == model.serial and b["model"] == model.model and b["mac"] == model.mac
