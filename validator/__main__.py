"""``python -m validator`` runs the CLI."""

from validator.cli.main import main

raise SystemExit(main())
