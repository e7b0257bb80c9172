"""``python -m forewarn`` is the ``forewarn`` command."""

from forewarn.apps.cli import main

raise SystemExit(main())
