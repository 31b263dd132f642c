"""`python -m infra.images [names...]`: build the lab's images and print name -> tag."""

import sys

from infra.images import main

sys.exit(main())
