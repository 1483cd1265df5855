"""What the config check costs every Snakemake parse (not a pytest module).

    python tests/benchmarks/bench_config_parse.py CHECKOUT [CHECKOUT ...] --configs A.yaml B.yaml [--repeats 5]

For each config and each checkout (e.g. an older commit unpacked with ``git archive`` beside this
worktree), alternating so both see the same load, runs ``validate_config`` + ``check_time_step``
as ``workflow/rules/common.smk`` does, each in a fresh interpreter (a parse pays the first call,
imports and gmsh included), and prints the median milliseconds of that call. Relative paths in a
config are looked up next to it, then in the checkout.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
from pathlib import Path

ONE_PARSE = """
import sys, time, yaml
from pathlib import Path
repo, path = Path(sys.argv[1]), Path(sys.argv[2])
sys.path.insert(0, str(repo / "workflow"))
config = yaml.safe_load(open(path))
from scema.config import validate_config
from scema.fe.stability import check_time_step
start = time.perf_counter()
check_time_step(validate_config(config, search_dirs=[path.parent, repo]), run_dir=path.parent)
print(time.perf_counter() - start)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkouts", nargs="+", type=Path)
    parser.add_argument("--configs", nargs="+", type=Path, required=True)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    for config in args.configs:
        times: dict[Path, list[float]] = {c: [] for c in args.checkouts}
        for _ in range(args.repeats):
            for checkout in args.checkouts:
                out = subprocess.run(
                    [sys.executable, "-c", ONE_PARSE, str(checkout.resolve()), str(config.resolve())],
                    check=True,
                    capture_output=True,
                    text=True,
                )
                times[checkout].append(float(out.stdout.split()[-1]))
        for checkout, values in times.items():
            print(f"{config}  {checkout}: {1e3 * statistics.median(values):.0f} ms (median of {len(values)})")


if __name__ == "__main__":
    main()
