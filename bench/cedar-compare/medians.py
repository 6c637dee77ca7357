#!/usr/bin/env python3
"""Prints the median criterion measured for each case of the `decision` bench.

Usage: python3 medians.py [CARGO_TARGET_DIR]   (default: $CARGO_TARGET_DIR, else ./target)
"""
import json
import os
import sys
from pathlib import Path

target = Path(sys.argv[1] if len(sys.argv) > 1 else os.environ.get("CARGO_TARGET_DIR", "target"))
print("| case | median µs | 95% interval µs |")
print("|---|---|---|")
for estimates in sorted((target / "criterion" / "decision").glob("*/new/estimates.json")):
    # criterion names the directory after the benchmark id, `/` replaced by `_`.
    engine, case = estimates.parts[-3].split("_", 1)
    median = json.loads(estimates.read_text())["median"]
    ci = median["confidence_interval"]
    print(
        f"| {engine} {case} | {median['point_estimate'] / 1000:.3f} | "
        f"{ci['lower_bound'] / 1000:.3f}–{ci['upper_bound'] / 1000:.3f} |"
    )
