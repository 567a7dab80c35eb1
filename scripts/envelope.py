"""Run chapters on "other machines": capped CPU kernels, one or two threads, other training seeds.

    python scripts/envelope.py 11 14                          # chapters 11 and 14, every setting below
    python scripts/envelope.py 11 --backends native default --threads 1 --seeds 0 1 2
    python scripts/envelope.py all --backends default --threads 1 --seeds 0 --jobs 2

A claim about a trained model or a timing (``utils.claims.check``) must hold on any reader's
machine, not only on the one the text was written on. This machine can imitate others: each
numerical library picks its CPU kernels at start-up and can be told to stay below a level:

    native   what this CPU offers (AVX-512 and AMX on a recent Xeon, AVX2 on most others)
    avx2     PyTorch, MKL and oneDNN capped to AVX2
    default  PyTorch's plain C++ kernels, MKL capped to SSE4.2, oneDNN to SSE4.1

Threads change the order in which sums are added, and SA_SEED shifts every training seed
(``utils.training.set_seed``). Each run executes the chapter's notebook in a fresh kernel with
``SA_CLAIMS=strict`` (``--record`` instead lets a claim that does not hold go on, to see how far
it moves) and ``SA_CLAIMS_LOG`` set, so every claim checked is recorded with its values. The
script prints, for every claim, whether it held in every run and the range of each value, and
writes everything to ``--out`` (JSON). Exit status 1 if any run failed or any claim did not hold.
"""

from __future__ import annotations

import argparse
import collections
import concurrent.futures
import itertools
import json
import os
import pathlib
import subprocess
import sys
import tempfile
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from utils.claims import BACKENDS, machine  # noqa: E402

# Chapters whose code trains a model or times something: their claims depend on the machine.
VARYING = ["01", "04", "05", "06", "07", "08", "09", "10", "11", "12", "13", "14", "15", "16", "17", "18"]


def environment(backend: str, threads: int, seed: int, log: pathlib.Path, strict: bool) -> dict:
    """The environment of one run: the back-end caps, the thread count, the seed shift, the claims mode."""
    capped = {name for caps in BACKENDS.values() for name in caps}
    env = {k: v for k, v in os.environ.items() if k not in capped}
    env.update(machine(backend, threads, SA_SEED=seed, SA_CLAIMS="strict" if strict else "record",
                       SA_CLAIMS_LOG=log))
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
    env.pop("SA_STATIC_EXPLORERS", None)  # an explorer computes its default state only: faster, same claims
    return env


def chapter_paths(names: list[str]) -> list[pathlib.Path]:
    wanted = VARYING if names == ["all"] else [f"{int(n):02d}" for n in names]
    paths = []
    for number in wanted:
        found = sorted((ROOT / "chapters").glob(f"{number}_*.ipynb"))
        if not found:
            raise SystemExit(f"no chapter numbered {number} in chapters/")
        paths.append(found[0])
    return paths


def run_one(path: pathlib.Path, backend: str, threads: int, seed: int, strict: bool, timeout: int) -> dict:
    """Execute one chapter in a fresh kernel under one setting; return what happened and the claims."""
    with tempfile.TemporaryDirectory() as tmp:
        log = pathlib.Path(tmp) / "claims.jsonl"
        log.touch()
        code = ("import sys, nbformat; from nbclient import NotebookClient; "
                "nb = nbformat.read(sys.argv[1], as_version=4); "
                f"NotebookClient(nb, timeout={timeout}, kernel_name='python3', "
                "resources={'metadata': {'path': sys.argv[2]}}).execute()")
        start = time.perf_counter()
        done = subprocess.run([sys.executable, "-c", code, str(path), str(path.parent)], capture_output=True,
                              text=True, env=environment(backend, threads, seed, log, strict))
        seconds = time.perf_counter() - start
        records = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    error = None
    if done.returncode != 0:
        lines = [ln for ln in done.stderr.strip().splitlines() if ln.strip()]
        error = "\n".join(lines[-12:])
    return {"chapter": path.stem, "backend": backend, "threads": threads, "seed": seed,
            "seconds": round(seconds, 1), "error": error, "claims": records}


def summarise(runs: list[dict]) -> tuple[str, bool]:
    """A table: for every chapter's claim, in how many runs it held and each value's range."""
    held = collections.defaultdict(lambda: [0, 0])
    values = collections.defaultdict(list)
    for run in runs:
        for record in run["claims"]:
            key = (run["chapter"], record["claim"])
            held[key][0] += bool(record["holds"])
            held[key][1] += 1
            for name, value in record["measured"].items():
                if isinstance(value, (int, float)) and not isinstance(value, bool):
                    values[key + (name,)].append(value)
    lines, ok = [], True
    for key, (n_held, n_all) in held.items():
        ok &= n_held == n_all
        mark = "ok " if n_held == n_all else "NOT"
        lines.append(f"{mark} {key[0]}: {key[1]}  (held in {n_held} of {n_all} checks)")
        for (c, claim, name), vals in values.items():
            if (c, claim) == key:
                lines.append(f"      {name}: {min(vals):.4g} … {max(vals):.4g}  over {len(vals)}")
    for run in runs:
        if run["error"]:
            ok = False
            where = f"{run['backend']}, {run['threads']} thread(s), seed +{run['seed']}"
            lines.append(f"ERROR {run['chapter']} [{where}]:\n{run['error']}")
    return "\n".join(lines), ok


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("chapters", nargs="+",
                        help="chapter numbers, or 'all' for every chapter that trains or times")
    parser.add_argument("--backends", nargs="+", default=["native", "avx2", "default"],
                        choices=sorted(BACKENDS))
    parser.add_argument("--threads", nargs="+", type=int, default=[1, 2])
    parser.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2],
                        help="shifts added to every training seed")
    parser.add_argument("--jobs", type=int, default=1, help="runs at once (each run uses --threads cores)")
    parser.add_argument("--record", action="store_true",
                        help="let a claim that does not hold go on (to see ranges)")
    parser.add_argument("--timeout", type=int, default=600, help="seconds per cell")
    parser.add_argument("--out", type=pathlib.Path, default=ROOT / "_build" / "envelope.json")
    args = parser.parse_args(argv)
    settings = list(itertools.product(chapter_paths(args.chapters), args.backends, args.threads, args.seeds))
    runs = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
        futures = [pool.submit(run_one, p, b, t, s, not args.record, args.timeout)
                   for p, b, t, s in settings]
        for future in concurrent.futures.as_completed(futures):
            run = future.result()
            runs.append(run)
            state = "error" if run["error"] else "ok"
            print(f"{run['chapter']:28s} {run['backend']:8s} {run['threads']} thread(s) seed +{run['seed']}: "
                  f"{state} in {run['seconds']:.0f} s, {len(run['claims'])} claims checked", flush=True)
    table, ok = summarise(runs)
    print(table)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(runs, indent=1, ensure_ascii=False), encoding="utf-8")
    print(f"{len(runs)} runs written to {args.out}; {'every claim held' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
