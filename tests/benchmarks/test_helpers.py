"""The benchmark's pure helpers, on known numbers (run by default, so the code stays alive)."""

from __future__ import annotations

import math

import pytest

from benchmarks import api_load, loadgen, run, stats

WRK_OUTPUT = """\
Running 3s test @ http://127.0.0.1:8000
  1 threads and 50 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     3.30ms  512.00us  20.00ms   90.00%
  Latency Distribution
     50%  850.00us
     75%    3.10ms
     90%    4.00ms
     99%    1.20s
  43086 requests in 3.01s, 20.00MB read
  Socket errors: connect 0, read 2, write 0, timeout 3
  Non-2xx or 3xx responses: 4
Requests/sec:  14307.48
Transfer/sec:      6.64MB
"""


def test_loglog_slope_of_power_laws() -> None:
    """The slope over log-log points is the exponent of y = c * x^k."""
    xs = [1_000, 10_000, 100_000]
    assert stats.loglog_slope(xs, [0.002 * x for x in xs]) == pytest.approx(1.0)
    assert stats.loglog_slope(xs, [3e-9 * x**2 for x in xs]) == pytest.approx(2.0)
    assert stats.loglog_slope(xs, [0.5, 0.5, 0.5]) == pytest.approx(0.0)
    assert stats.loglog_slope(xs, [x**1.1 for x in xs]) == pytest.approx(1.1)


def test_loglog_slope_needs_two_sizes() -> None:
    """One size (as with --quick), or non-positive values, give no exponent."""
    assert stats.loglog_slope([1_000], [0.3]) is None
    assert stats.loglog_slope([1_000, 1_000], [0.3, 0.4]) is None
    assert stats.loglog_slope([1_000, 10_000], [0.0, 0.4]) is None


def test_ratio_and_percentile() -> None:
    """A ratio is measurement over floor; percentiles interpolate between ranks."""
    assert stats.ratio(3.0, 2.0) == 1.5
    assert stats.ratio(3.0, 0.0) is None
    values = [float(v) for v in range(1, 101)]
    assert stats.percentile(values, 0.5) == pytest.approx(50.5)
    assert stats.percentile(values, 0.99) == pytest.approx(99.01)
    assert stats.percentile([7.0], 0.99) == 7.0


def test_growth_exponents_per_database_and_scenario() -> None:
    """Results are grouped by database and scenario before fitting."""
    rows = [
        {"database": "sqlite", "scenario": "no_change", "items": n, "seconds": 1e-4 * n}
        for n in (1_000, 10_000, 100_000)
    ] + [{"database": "sqlite", "scenario": "first_export", "items": 1_000, "seconds": 0.3}]
    exponents = run.growth_exponents(rows)
    assert exponents["sqlite"]["no_change"] == pytest.approx(1.0)
    assert exponents["sqlite"]["first_export"] is None


def test_growth_exponent_between_the_largest_sizes() -> None:
    """`largest=2` fits only the two largest sizes, where fixed costs no longer dominate."""
    seconds = {1_000: 0.3, 10_000: 0.5, 100_000: 5.0}
    rows = [
        {"database": "sqlite", "scenario": "no_change", "items": n, "seconds": s}
        for n, s in seconds.items()
    ]
    assert run.growth_exponents(rows, largest=2)["sqlite"]["no_change"] == pytest.approx(1.0)
    overall = run.growth_exponents(rows)["sqlite"]["no_change"]
    assert overall is not None
    assert overall < 1.0


def test_format_table_aligns_columns() -> None:
    """Every line of the table has the same width; missing values show as '-'."""
    table = stats.format_table([{"a": 1.23456, "b": None}, {"a": 1234.5, "b": "x"}], ["a", "b"])
    lines = table.splitlines()
    assert len({len(line) for line in lines}) == 1
    assert "1.235" in table
    assert "1234.5" in table
    assert lines[2].rstrip().endswith("-")


def test_parse_wrk_output() -> None:
    """Requests/s, p50/p99 in milliseconds and errors are read from `wrk --latency`."""
    figures = api_load.parse_wrk(WRK_OUTPUT)
    assert figures["requests"] == 43086
    assert figures["requests_per_s"] == pytest.approx(14307.48)
    assert figures["p50_ms"] == pytest.approx(0.85)
    assert figures["p99_ms"] == pytest.approx(1200.0)
    assert figures["errors"] == 4 + 2 + 3


def test_patch_requests_flip_completed_on_each_pass() -> None:
    """Each pass over the items sends the opposite value, so every PATCH is a real write."""
    phase = {"method": "PATCH", "paths": ["/a", "/b"]}
    sent = [loadgen.request_for(phase, n) for n in range(4)]
    assert [path for _, path, _ in sent] == ["/a", "/b", "/a", "/b"]
    assert [body for _, _, body in sent] == [
        b'{"completed": true}',
        b'{"completed": true}',
        b'{"completed": false}',
        b'{"completed": false}',
    ]
    script = api_load.wrk_script(phase, "tok")
    assert 'wrk.method = "PATCH"' in script
    assert '"/a", "/b"' in script


def test_sizes_are_the_issues() -> None:
    """1k, 10k and 100k items, as lists of 100 items."""
    assert [size.items for size in run.SIZES] == [1_000, 10_000, 100_000]
    assert all(math.isclose(size.items_per_list, 100) for size in run.SIZES)
