"""``python -m bench.suppressions [options]``: the benchmark on its own, with the shared options too."""

from . import main

raise SystemExit(main())
