"""What the devnet tests share: stopping a test's devnet whatever state it was left in."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from kpchain.devnet.devnet import DevnetPaths, down


def kill_leftover(project: Path) -> None:
    """Stops a project's devnet whatever state the test left it in."""
    try:
        down(project, timeout=10)
    finally:
        pid_file = DevnetPaths.of(project).pid_file
        if pid_file.exists():  # down failed: do not leave anvil behind
            with contextlib.suppress(ValueError, ProcessLookupError):
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
