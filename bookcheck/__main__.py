import sys

from bookcheck.cli import main

sys.exit(main())
