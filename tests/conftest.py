"""Shared test set-up: a non-interactive matplotlib backend, and the fixture ``fast_dir``; nothing else at import."""
import os
import tempfile
from pathlib import Path

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture
def fast_dir(tmp_path):
    """A folder on tmpfs when there is one (file creation and removal are far cheaper there)."""
    if os.access("/dev/shm", os.W_OK):
        with tempfile.TemporaryDirectory(dir="/dev/shm") as d:
            yield Path(d)
    else:
        yield tmp_path
