"""Starting the backend's processes for tests, one module a process: ``gunicorn`` (the API as deployed),
``worker`` (a Celery worker, and beat), ``exchange`` (the exchange stand-in's pairs and dates) and
``environment`` (the ``GENTRADE_*`` variables they all run with). The fixtures in
``tests/integration/conftest.py`` and the namespaced cluster (``tests/cluster.py``) start processes only
through these.
"""

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # the project: every process starts here
