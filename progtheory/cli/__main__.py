"""`python -m progtheory.cli`: the same as the `progtheory` command."""

import sys

from progtheory.cli.parser import main

sys.exit(main())
