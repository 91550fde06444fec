"""Kill rate per module of the last `make mutation` run, from mutmut's result files under mutants/.

killed = a test failed (or timed out) with the mutant in place; survived = every test passed;
"no tests" = no selected fast test reaches the mutated function. The rate is killed / (killed + survived +
no tests): a mutant no test reaches counts against the module. Unchecked mutants (a run narrowed with
MUTANTS=...) are listed apart and left out of the rate.
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path

KILLED = {1, 3, 36, 24, -24, 152, 255, 37}  # test failure, pytest internal error, timeouts, type check
SURVIVED = {0}
NO_TESTS = {5, 33}


def main(root: Path = Path("mutants")) -> int:
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print(f"no mutmut results under {root}/; run 'make mutation' first", file=sys.stderr)
        return 2
    print(f"{'module':40} {'killed':>7} {'survived':>9} {'no tests':>9} {'unchecked':>10} {'kill rate':>10}")
    for meta in metas:
        codes = json.loads(meta.read_text(encoding="utf-8"))["exit_code_by_key"]
        c = Counter("killed" if v in KILLED else "survived" if v in SURVIVED else "no tests" if v in NO_TESTS
                    else "unchecked" if v is None else "other" for v in codes.values())
        rated = c["killed"] + c["survived"] + c["no tests"]
        rate = f"{100 * c['killed'] / rated:.1f}%" if rated else "-"
        name = str(meta.relative_to(root)).removesuffix(".meta")
        print(f"{name:40} {c['killed']:7} {c['survived']:9} {c['no tests']:9} {c['unchecked'] + c['other']:10} "
              f"{rate:>10}")
    return 0


if __name__ == "__main__":
    sys.exit(main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("mutants")))
