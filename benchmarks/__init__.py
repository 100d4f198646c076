"""Benchmarks of todosync against physical floors measured in the same run (issue 9).

`python benchmarks/run.py --help`; docs/BENCHMARKS.md explains the method and the goals.
Never part of the default test run.
"""
