"""A longer fuzzing run: the suite's fuzz tests (HTTP, graphql-transport-ws, graphql-ws) with
more inputs and other seeds, against a real server on each chosen backend.

    python bench/fuzz.py                      # 20x the suite's counts, three seeds, SQLite
    python bench/fuzz.py --scale 5 --seeds 1 --backend postgres
    python bench/fuzz.py --fragments 40       # mostly fragment-heavy documents: spreads
                                              # doubling at each level, long fragment chains,
                                              # many aliases in fragments spread many times

Each run prints how many inputs were tried, how they ended and the slowest HTTP reply (a
document that cost more than its size to refuse shows there); the exit status is pytest's
(non-zero when any reply broke the contract).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=int, default=20, help="multiple of the suite's counts")
    parser.add_argument("--seeds", type=int, default=3, help="runs, each with its own seed")
    parser.add_argument("--first-seed", type=int, default=1)
    parser.add_argument("--backend", choices=["sqlite", "postgres"], default="sqlite")
    parser.add_argument(
        "--fragments",
        type=int,
        default=3,
        help="weight of fragment-heavy documents (the other kinds weigh 14 in all)",
    )
    args = parser.parse_args()

    status = 0
    for run_seed in range(args.first_seed, args.first_seed + args.seeds):
        started = time.monotonic()
        print(
            f"== seed {run_seed}, scale {args.scale}, fragments {args.fragments}, {args.backend}",
            flush=True,
        )
        env = {
            **os.environ,
            "FUZZ_SCALE": str(args.scale),
            "FUZZ_SEED": str(run_seed),
            "FUZZ_FRAGMENT_SHARE": str(args.fragments),
        }
        run = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "tests/e2e/test_fuzz.py",
                "-q",
                "-s",
                "-p",
                "no:cacheprovider",
                "-k",
                args.backend,
                # The websockets client masks frames with `random`; with a seed of its own,
                # hypothesis takes that for a strategy using `random` and warns.
                "-W",
                "ignore::hypothesis.errors.HypothesisDeprecationWarning",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        tallies = [line for line in run.stdout.splitlines() if " fuzz" in line and "tried" in line]
        tallies += [line for line in run.stdout.splitlines() if "sessions, endings" in line]
        for line in tallies:
            print("  " + line.strip(" ."))
        print(f"  pytest exit {run.returncode} in {time.monotonic() - started:.0f} s", flush=True)
        if run.returncode != 0:
            print(run.stdout[-6000:])
            status = run.returncode
    return status


if __name__ == "__main__":
    sys.exit(main())
