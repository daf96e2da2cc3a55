"""The tutorial's CSV job (Tianchi's Docker practice task): read num_list.csv (one number per line, no
header) from the data directory and write result.json there:
Q1 the string "Hello world", Q2 the sum of the numbers, Q3 the ten largest numbers, descending.

Unlike the tutorial's main.py, the numbers are converted to Python ints before json.dump (numpy's int64 is
not JSON serialisable), and result.json goes to the mounted data directory so it can be collected.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path


def answers(numbers: list[int]) -> dict[str, object]:
    return {
        "Q1": "Hello world",
        "Q2": sum(numbers),
        "Q3": sorted(numbers, reverse=True)[:10],
    }


def main() -> int:
    data_dir = Path(os.environ.get("DATA_DIR", "/tcdata"))
    import pandas as pd  # here, so the answers above can be tested without pandas

    data = pd.read_csv(data_dir / "num_list.csv", header=None)
    result = answers([int(n) for n in data[0]])
    print(result)
    with open(data_dir / os.environ.get("RESULT_FILE", "result.json"), "w", encoding="utf-8") as fh:
        json.dump(result, fh)
    return 0


if __name__ == "__main__":
    sys.exit(main())
