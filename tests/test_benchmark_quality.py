"""benchmarks/quality.py's helpers that other benchmark scripts share. No benchmark table is loaded. quality.py is
reached through a script that imports it (its dataclasses need it imported as a module, not loaded from its file)."""

import pytest

from conftest import load_benchmark

quality = load_benchmark("codes_scan").quality


def rows_of(name, threads):
    return [{"dataset": name, "row": i} for i in range(2)]


def test_rows_from_workers_gathers_every_calls_rows_and_shows_each_as_it_ends():
    shown = []
    rows = quality.rows_from_workers(rows_of, [("a", {"name": "a"}), ("b", {"name": "b"})], 1,
                                     lambda key, result: shown.append((key, len(result))))
    assert rows == rows_of("a", None) + rows_of("b", None)
    assert shown == [("a", 2), ("b", 2)]


def test_a_failed_call_ends_the_run_with_its_key_and_error(monkeypatch):
    def died(function, calls, jobs):
        yield "a", rows_of("a", 1)
        yield "b", MemoryError("worker killed")

    monkeypatch.setattr(quality, "in_workers", died)
    with pytest.raises(SystemExit, match="b: MemoryError: worker killed"):
        quality.rows_from_workers(rows_of, [], 2, lambda key, result: None)
