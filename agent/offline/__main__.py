"""``python -m cudarwin.agent.offline TASK.py [--policy torch-ok]``: print the generated candidate."""

import sys

from cudarwin.agent.offline.proposer import main

sys.exit(main())
