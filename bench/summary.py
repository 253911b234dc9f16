"""The last line of `make bench`: every budget's verdict, read from bench/results/*.json.

Each bench writes its own JSON (figures, budget, pass); this prints one PASS/FAIL line per
file and exits 0 either way (a bench reports, CI does not time anything)."""

import json
import sys
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def main() -> None:
    files = sorted(RESULTS.glob("*.json"))
    if not files:
        sys.exit("no results: run make bench")
    print("\nBudgets (bench/results/):")
    for path in files:
        data = json.loads(path.read_text())
        passed = data.get("pass", data.get("passed"))
        verdict = "PASS" if passed else "FAIL" if passed is not None else "?"
        print(f"  {verdict:<4}  {path.stem:<14} {data.get('budget', '')}  ({data.get('when', 'undated')})")


if __name__ == "__main__":
    main()
