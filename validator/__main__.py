"""``python -m validator`` runs the CLI."""

from .cli import main

raise SystemExit(main())
