"""The committed quality benchmark must have been made with the current defaults.yaml.

benchmarks/results/quality.md records the sha256 of the defaults.yaml it was run with. When defaults.yaml changes,
this test fails until the benchmark is run again (`make benchmark-quality`; results are cached, so only what the
change touches is refitted) and the new results are committed. Reads two files; needs no benchmark package.
"""

import hashlib
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REPORT = ROOT / "benchmarks" / "results" / "quality.md"


def recorded_hash(text: str) -> str | None:
    match = re.search(r"defaults\.yaml sha256\*\*: `([0-9a-f]{64})`", text)
    return match.group(1) if match else None


def test_report_records_a_defaults_hash():
    assert recorded_hash(REPORT.read_text(encoding="utf-8")), f"{REPORT} records no defaults.yaml sha256"


def test_report_was_made_with_the_current_defaults():
    recorded = recorded_hash(REPORT.read_text(encoding="utf-8"))
    current = hashlib.sha256((ROOT / "defaults.yaml").read_bytes()).hexdigest()
    assert recorded == current, (
        f"benchmarks/results/quality.md was made with defaults.yaml sha256 {recorded}, but defaults.yaml is now "
        f"{current}: run `make benchmark-quality` and commit benchmarks/results/")
