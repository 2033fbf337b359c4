import json

import numpy as np
import pytest

from mobius_init.cli import main
from mobius_init.experiments.verify import candidates, verdict


def measured(mean, sd=0.0):
    return {"mean": mean, "sd": sd}


def test_verdict_rule():
    assert verdict(0.967, measured(0.95, 0.01), {"untrained": 0.2}) == "reproduces"
    assert verdict(0.967, measured(0.5, 0.01), {"untrained": 0.96}) == "does not reproduce"
    assert verdict(0.967, measured(0.95), {"untrained": 0.93}).startswith("not distinguishable from a control")
    assert verdict((0.07, 0.25), measured(0.3), {}) == "reproduces"  # 0.3 - 0.05 overlaps the range
    assert verdict((0.07, 0.25), measured(0.5), {}) == "does not reproduce"
    assert verdict(None, measured(0.5), {}) == "no numeric claim"


def test_fourteen_candidates_are_defined(rng):
    A = rng.random((30, 30))
    D = np.log1p(A + A.T)
    cands = candidates(D, np.maximum(D - 1, 0), dim=8, epsilon=0.003)
    families = {name.split()[0] for name in cands}
    assert families == {f"H{i}" for i in range(1, 13)} | {"H_cI", "H_logD"}
    for vec, definition in cands.values():
        assert vec.shape == (30,) and np.all(np.isfinite(vec)) and definition


def test_verify_quick(tmp_path, capsys):
    out = tmp_path / "verify"
    assert main(["verify", "--quick", "-o", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    titles = list(report["tables"])
    assert titles[0].startswith("Table 1") and "Convergence table" in titles and "Appendix" in titles
    for rows in report["tables"].values():
        for row in rows:
            assert {"claimed", "measured", "controls", "verdict"} <= set(row)
    table1 = report["tables"]["Table 1: candidate formulas for k0"]
    assert {"untrained", "W = I", "random E"} == set(table1[0]["controls"])
    assert report["identities"]["circulant score of reconstruct_w(D, k0)"] == pytest.approx(1.0)
    text = (out / "report.md").read_text()
    assert "Verdict rule" in text and "excludes" in text and "H_logD" in text
    assert (out / "convergence.png").stat().st_size > 0 and (out / "alpha.png").stat().st_size > 0
