"""Summarise py-spy raw stacks: share of samples per function (self and inclusive).

python bench/profile_summary.py bench/results/profile/tasklive-*.txt
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path


def main() -> None:
    self_time: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    total = 0
    for path in sys.argv[1:]:
        for line in Path(path).read_text().splitlines():
            stack, _, count_text = line.rpartition(" ")
            if not stack or not count_text.isdigit():
                continue
            count = int(count_text)
            frames = stack.split(";")
            if not any(f.startswith("Runner.run") for f in frames):
                continue  # only the event loop's thread (not idle database worker threads)
            total += count
            self_time[frames[-1]] += count
            for frame in set(frames):
                inclusive[frame] += count
    if not total:
        sys.exit("no samples")
    print(f"{total} samples\n\nself time:")
    for frame, count in self_time.most_common(25):
        print(f"  {100 * count / total:5.1f}%  {frame}")
    print("\ninclusive:")
    for frame, count in inclusive.most_common(40):
        print(f"  {100 * count / total:5.1f}%  {frame}")


if __name__ == "__main__":
    main()
