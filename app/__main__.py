"""``python -m app`` is the ``latent-explorer`` command."""

from app.cli import main

raise SystemExit(main())
