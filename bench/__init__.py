"""Benchmarks of the explorer's speed targets, run as ``python -m bench``.

Every figure is a median over many repetitions, reported next to a baseline measured in the
same run, so a ratio stays meaningful on a shared or noisy machine where absolute times drift.
Results go to ``bench/results.json`` and ``bench/results.md`` (the table the README shows).
"""
