"""``python -m bench`` runs the benchmarks (see bench/cli.py for the flags)."""

from bench.cli import main

raise SystemExit(main())
