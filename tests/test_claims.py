"""Claims about runs (utils.claims): strict in the build and the tests, a note in a reader's kernel.

A reader notebook with a claim made to fail runs to its last cell and shows the note; the same
notebook stops on it when SA_CLAIMS=strict. scripts/envelope.py reports a claim's range over
the settings it ran, and fails when a claim did not hold in one of them.
"""

from __future__ import annotations

import json
import pathlib
import sys

import nbformat
import numpy as np
import pytest
import torch
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError

from utils import claims, training

ROOT = pathlib.Path(__file__).resolve().parents[1]
READER = ROOT / "notebooks" / "02_softmax_xxt.ipynb"
MADE_TO_FAIL = 'from utils import claims\nclaims.check(1 > 2, "one is larger than two", one=1, two=2)'


def test_a_claim_that_holds_prints_nothing_and_returns_nothing(monkeypatch, capsys):
    monkeypatch.delenv(claims.MODE_ENV, raising=False)
    accuracy = np.float64(0.995)
    assert claims.check(accuracy >= 0.99, "accuracy of at least 0.99", accuracy=accuracy) is None
    assert capsys.readouterr().out == ""


def test_strict_mode_raises_with_the_claim_and_the_values(monkeypatch):
    monkeypatch.setenv(claims.MODE_ENV, "strict")
    with pytest.raises(claims.ClaimNotMet, match=r"accuracy of at least 0\.99.*accuracy = 0\.47") as err:
        claims.check(0.47 >= 0.99, "accuracy of at least 0.99", accuracy=0.47)
    assert isinstance(err.value, AssertionError)  # a build that catches assertions catches it too


def test_reader_mode_prints_one_note_and_goes_on(monkeypatch, capsys):
    monkeypatch.delenv(claims.MODE_ENV, raising=False)
    claims.check(torch.tensor(0.47) > 0.5, "weight above 0.5", weight=torch.tensor(0.47))
    out = capsys.readouterr().out
    assert out.startswith(claims.NOTE) and "the book: weight above 0.5" in out and "weight = 0.47" in out


def test_every_check_is_logged_with_its_values(monkeypatch, tmp_path):
    log = tmp_path / "claims.jsonl"
    monkeypatch.setenv(claims.LOG_ENV, str(log))
    monkeypatch.setenv(claims.MODE_ENV, "record")
    claims.check(True, "first", value=np.int64(3))
    claims.check(False, "second", value=0.25, label="head 2")
    records = [json.loads(line) for line in log.read_text().splitlines()]
    assert records == [{"claim": "first", "holds": True, "measured": {"value": 3.0}},
                       {"claim": "second", "holds": False, "measured": {"value": 0.25, "label": "head 2"}}]


def test_a_check_without_one_verdict_or_words_is_refused():
    with pytest.raises(ValueError, match="one verdict"):
        claims.check(np.array([True, False]), "two verdicts")
    with pytest.raises(ValueError, match="description in words"):
        claims.check(True, "  ")


def test_another_machine_is_a_set_of_environment_variables():
    assert claims.machine("default", 1, SA_SEED=2) == {
        "ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2", "DNNL_MAX_CPU_ISA": "SSE41",
        "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "SA_SEED": "2"}
    with pytest.raises(ValueError, match="unknown back-end 'avx1024'"):
        claims.machine("avx1024", 1)
    with pytest.raises(ValueError, match="threads must be at least 1"):
        claims.machine("native", 0)


def test_sa_seed_shifts_the_training_seed(monkeypatch):
    monkeypatch.setenv(claims.SEED_ENV, "2")
    assert training.set_seed(0) == 2
    shifted = torch.rand(3)
    monkeypatch.delenv(claims.SEED_ENV)
    assert training.set_seed(2) == 2
    assert torch.equal(shifted, torch.rand(3))


def with_a_claim_made_to_fail(path: pathlib.Path):
    """The reader notebook with one more cell, after its first import of utils, whose claim is false."""
    nb = nbformat.read(path, as_version=4)
    first = next(i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and "from utils import" in c.source)
    nb.cells.insert(first + 1, nbformat.v4.new_code_cell(MADE_TO_FAIL))
    nb.cells.append(nbformat.v4.new_code_cell('print("the last cell ran")'))
    return nb


def run(nb, monkeypatch, mode):
    if mode is None:
        monkeypatch.delenv(claims.MODE_ENV, raising=False)  # as in Colab, Binder, JupyterLab, VS Code
    else:
        monkeypatch.setenv(claims.MODE_ENV, mode)
    monkeypatch.setenv("PYTHONPATH", str(ROOT))
    NotebookClient(nb, timeout=600, kernel_name="python3",
                   resources={"metadata": {"path": str(READER.parent)}}).execute()
    return nb


def test_a_reader_notebook_with_a_failed_claim_runs_to_its_last_cell_with_a_note(monkeypatch):
    nb = run(with_a_claim_made_to_fail(READER), monkeypatch, None)
    printed = ["".join(o.get("text", "") for o in c.get("outputs", []))
               for c in nb.cells if c.cell_type == "code"]
    note = [text for text in printed if claims.NOTE in text]
    assert len(note) == 1 and "the book: one is larger than two" in note[0] and "one = 1, two = 2" in note[0]
    assert printed[-1].strip() == "the last cell ran"
    assert not [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
                if o.get("output_type") == "error"]


def test_the_same_notebook_stops_on_the_claim_in_strict_mode(monkeypatch):
    nb = with_a_claim_made_to_fail(READER)
    with pytest.raises(CellExecutionError, match="ClaimNotMet"):
        run(nb, monkeypatch, "strict")
    assert "the last cell ran" not in "".join(o.get("text", "") for o in nb.cells[-1].get("outputs", []))


def test_the_envelope_script_reports_ranges_and_fails_on_a_claim_that_did_not_hold():
    sys.path.insert(0, str(ROOT / "scripts"))
    import envelope

    runs = [{"chapter": "11_transformer", "backend": b, "threads": 1, "seed": s, "error": None,
             "claims": [{"claim": "accuracy ≥ 0.99", "holds": acc >= 0.99, "measured": {"accuracy": acc}}]}
            for b, s, acc in [("native", 0, 0.995), ("default", 0, 0.992), ("default", 1, 0.97)]]
    table, ok = envelope.summarise(runs)
    assert not ok and "NOT 11_transformer: accuracy ≥ 0.99  (held in 2 of 3 checks)" in table
    assert "accuracy: 0.97 … 0.995  over 3" in table
    table, ok = envelope.summarise(runs[:2])
    assert ok and table.startswith("ok ")
    runs[0]["error"] = "Traceback: ZeroDivisionError"
    assert envelope.summarise(runs[:2])[1] is False
