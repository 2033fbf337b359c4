import json

import pytest

from mobius_init.cli import main
from mobius_init.experiments.claims import MOBIUS_CLAIMS, Claim, judged, verdict


def measured(mean, sd=0.0):
    return {"mean": mean, "sd": sd}


def test_verdict_rule():
    assert verdict(0.967, measured(0.95, 0.01), {"untrained": 0.2}) == "reproduces"
    assert verdict(0.967, measured(0.5, 0.01), {"untrained": 0.96}) == "does not reproduce"
    assert verdict(0.967, measured(0.95), {"untrained": 0.93}).startswith("not distinguishable from a control")
    assert verdict((0.07, 0.25), measured(0.3), {}) == "reproduces"  # 0.3 - 0.05 overlaps the range
    assert verdict((0.07, 0.25), measured(0.5), {}) == "does not reproduce"
    assert verdict(None, measured(0.5), {}) == "no numeric claim"
    assert verdict("> 0.98", measured(0.99), {}) == "reproduces"
    assert verdict("> 0.98", measured(0.97), {}) == "does not reproduce"
    assert verdict(0.5, measured(0.8, 0.2), {}) == "reproduces"  # a wide spread widens the margin


def test_judged_row():
    row = judged(Claim("T", "r", 1.0, "q"), [0.98, 1.0, 1.02], {"control": 0.2})
    assert row["measured"]["n"] == 3 and row["measured"]["mean"] == pytest.approx(1.0)
    assert row["verdict"] == "reproduces" and row["claimed"] == 1.0


def test_verify_quick_covers_every_claim(tmp_path):
    out = tmp_path / "verify"
    assert main(["verify", "mobius", "--quick", "--quiet", "-o", str(out)]) == 0
    report = json.loads((out / "report.json").read_text())
    rows = [row for table in report["tables"].values() for row in table]
    assert len(rows) == len(MOBIUS_CLAIMS)  # measure is a loop over the claims table
    titles = list(report["tables"])
    assert titles[0].startswith("Table 1") and "Convergence table" in titles and "Appendix" in titles
    for row in rows:
        assert {"claimed", "measured", "controls", "verdict"} <= set(row)
    table1 = report["tables"]["Table 1: candidate formulas for k0"]
    assert {"untrained", "W = I", "random E"} == set(table1[0]["controls"])
    assert any(r["row"] == "H11 r=16" for r in table1)
    assert report["identities"]["circulant score of reconstruct_w(D, k0)"] == pytest.approx(1.0)
    text = (out / "report.md").read_text()
    assert "Verdict rule" in text and "excludes" in text and "H_logD" in text
    assert (out / "convergence.png").stat().st_size > 0 and (out / "alpha.png").stat().st_size > 0


def test_above_and_differs_claims():
    from mobius_init.experiments.claims import ABOVE, DIFFERS

    assert verdict(ABOVE, measured(0.6), {"random subspace": 0.02}) == "reproduces"
    assert verdict(ABOVE, measured(0.06), {"random subspace": 0.02}) == "does not reproduce"  # within the margin
    assert verdict(DIFFERS, measured(15.0), {"random (seed 0)": 300.0, "random (seed 1)": 301.0}) == "reproduces"
    assert verdict(DIFFERS, measured(0.001), {"no difference": 0.0}) == "does not reproduce"


def test_bare_verify_says_what_to_type(capsys):
    assert main(["verify"]) == 2
    assert "mobius-init verify mobius | word2vec | res2vec" in capsys.readouterr().err


@pytest.mark.parametrize("report, claims", [("word2vec", "WORD2VEC_CLAIMS"), ("res2vec", "RES2VEC_CLAIMS")])
def test_other_reports_quick(tmp_path, report, claims):
    from mobius_init.experiments import claims as claim_tables

    out = tmp_path / report
    assert main(["verify", report, "--quick", "--quiet", "-o", str(out)]) == 0
    saved = json.loads((out / "report.json").read_text())
    rows = [row for table in saved["tables"].values() for row in table]
    assert len(rows) == len(getattr(claim_tables, claims))
    assert all(row["verdict"] for row in rows) and (out / "report.md").stat().st_size > 0
    assert any(p.suffix == ".png" for p in out.iterdir())
    if report == "word2vec":  # a rerun reuses every expensive stage and gives the same report
        assert main(["verify", report, "--quick", "--quiet", "-o", str(out)]) == 0
        again = json.loads((out / "report.json").read_text())
        assert again["reused_from_cache"] == ["stats.npz", "mstar", "ppmi", "sgns", "qwem_small.npz", "qwem_large.npz"]
        assert again["tables"] == saved["tables"]
        assert main(["verify", report, "--quick", "--quiet", "--window", "8", "-o", str(out)]) == 0
        assert json.loads((out / "report.json").read_text())["reused_from_cache"] == []  # other settings: afresh


def test_cache_keeps_a_stage_and_forgets_it_for_other_settings(tmp_path):
    import numpy as np

    from mobius_init.experiments.cache import StageCache

    calls = []
    first = StageCache(tmp_path, {"dim": 8}).get("E", lambda: calls.append(1) or np.arange(3.0))
    again = StageCache(tmp_path, {"dim": 8}).get("E", lambda: calls.append(1) or np.zeros(3))
    assert calls == [1] and np.array_equal(first, again)
    StageCache(tmp_path, {"dim": 9}).get("E", lambda: calls.append(1) or np.zeros(3))
    assert calls == [1, 1]
