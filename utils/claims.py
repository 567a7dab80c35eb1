"""Claims about what training reached or what a timing showed: checked by the build, a note for a reader.

A chapter checks two kinds of statement, and they fail for different reasons:

- **The code is right**: our attention equals PyTorch's, a shape is what the text says, a mask
  leaves no weight on the future. These are plain ``assert`` statements: if one fails, the code
  is wrong on every machine.
- **A claim about a run**: a trained model reaches 99 % accuracy, a head puts most of its weight
  on one column, the cache is faster than recomputing. These depend on the machine: PyTorch and
  its maths libraries pick different CPU kernels (AVX-512, AVX2, plain SSE), threads add numbers
  in another order, and a few rounding differences early in training send it down another path.
  The book states such claims over the range it measured (``scripts/envelope.py``), and checks
  them with :func:`check`::

      claims.check(accuracy >= 0.99, "exact-sequence accuracy of at least 0.99", accuracy=accuracy)

What :func:`check` does when a claim does not hold depends on where the notebook runs:

- ``SA_CLAIMS=strict`` (the book build, ``make test``, the envelope runs): it raises
  :class:`ClaimNotMet`, an ``AssertionError``, and the build fails.
- anything else (a reader's Colab, Binder, JupyterLab or VS Code kernel): it prints one note,
  what the book expects and what this run gave, and the notebook goes on.

With ``SA_CLAIMS_LOG=<file>`` every check, held or not, is appended to that file as one JSON line
(the claim, whether it held and the values measured): ``scripts/envelope.py`` reads them to
report the range each value took over back-ends, threads and seeds.

Taught in no chapter: the book's machinery for claims that vary between machines.
"""

from __future__ import annotations

import json
import numbers
import os

MODE_ENV = "SA_CLAIMS"  # "strict": a claim that does not hold raises; otherwise a note is printed
LOG_ENV = "SA_CLAIMS_LOG"  # a file to append one JSON line per check to
SEED_ENV = "SA_SEED"  # an offset added to every training seed (utils.training.set_seed)

# Other machines, imitated on this one: each numerical library picks its CPU kernels when it
# starts and can be told to stay below a level. "native" is whatever this CPU offers (AVX-512 and
# AMX on a recent Xeon, AVX2 on most others).
BACKENDS = {
    "native": {},
    "avx2": {"ATEN_CPU_CAPABILITY": "avx2", "MKL_ENABLE_INSTRUCTIONS": "AVX2", "DNNL_MAX_CPU_ISA": "AVX2"},
    "default": {"ATEN_CPU_CAPABILITY": "default", "MKL_ENABLE_INSTRUCTIONS": "SSE4_2",
                "DNNL_MAX_CPU_ISA": "SSE41"},
}


def machine(backend: str, threads: int, **more) -> dict:
    """Environment variables that make a fresh process compute like another machine.

    backend: a key of BACKENDS; threads: how many threads PyTorch, MKL and OpenMP may use.
    more: further variables (e.g. SA_SEED="1"). Only a process started with them is affected:
    the libraries read them once, when they load.

    Used by every claim about a run (scripts/envelope.py, the notebook tests); no chapter teaches it.
    """
    if backend not in BACKENDS:
        raise ValueError(f"unknown back-end {backend!r}: choose from {sorted(BACKENDS)}")
    if int(threads) < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    return {**BACKENDS[backend], "OMP_NUM_THREADS": str(int(threads)), "MKL_NUM_THREADS": str(int(threads)),
            **{k: str(v) for k, v in more.items()}}

NOTE = ("Note: this run differs from the book. Training and timings vary between machines "
        "(CPU kernels, threads, library versions); the rest of the notebook still runs.")


class ClaimNotMet(AssertionError):
    """A claim about a training run or a timing did not hold (raised only when SA_CLAIMS=strict).

    Used by every claim about a run; no chapter teaches it.
    """


def strict() -> bool:
    """True where a claim that does not hold must stop the run (the book build and the tests).

    Used by every claim about a run; no chapter teaches it.
    """
    return os.environ.get(MODE_ENV, "").strip().lower() == "strict"


def _plain(value):
    """A measured value as JSON can hold it: numbers as floats, everything else as its text."""
    try:
        import numpy as np
        if isinstance(value, np.generic):
            value = value.item()
    except ImportError:  # pragma: no cover  (numpy is always there in the book)
        pass
    if hasattr(value, "item") and getattr(value, "numel", lambda: 0)() == 1:  # a 1-element tensor
        value = value.item()
    if isinstance(value, bool):
        return value
    if isinstance(value, numbers.Real):
        return float(value)
    return str(value)


def _shown(value) -> str:
    value = _plain(value)
    if isinstance(value, float) and not isinstance(value, bool):
        return f"{value:.4g}"
    return str(value)


def check(holds, claim: str, **measured) -> None:
    """Check one claim about a run: `holds` is the verdict, `claim` what the text says, in words.

    measured: the values the verdict was computed from, by name (they appear in the note and
    in the log). Returns nothing (a cell that ends with a check shows no stray True). Raises
    ClaimNotMet if the claim is false and SA_CLAIMS=strict; otherwise prints a note.

    Used by every claim about a run; no chapter teaches it.
    """
    if not isinstance(claim, str) or not claim.strip():
        raise ValueError(f"a claim needs a description in words, got {claim!r}")
    try:
        verdict = bool(holds)
    except (TypeError, ValueError) as err:  # e.g. an array of several booleans
        raise ValueError(f"check() needs one verdict (True or False) for {claim!r}, got {holds!r}: "
                         "use .all() or .any() to say which") from err
    got = ", ".join(f"{name} = {_shown(value)}" for name, value in measured.items()) or "the opposite"
    log = os.environ.get(LOG_ENV)
    if log:
        record = {"claim": claim, "holds": verdict, "measured": {k: _plain(v) for k, v in measured.items()}}
        with open(log, "a", encoding="utf-8") as f:
            f.write(json.dumps(record, ensure_ascii=False) + "\n")
    if verdict:
        return
    if strict():
        raise ClaimNotMet(f"the book claims {claim}, but this run gave {got}")
    print(f"{NOTE}\n  the book: {claim}\n  this run: {got}")
