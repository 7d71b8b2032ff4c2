"""Prometheus metrics of the API and the Celery worker: what is measured (``instruments``), the request hooks
(``http``), and how scrapes are answered (``exposition``).

prometheus_client decides once, when it is first imported, whether metric values live in this process's
memory or in files shared by a pool of processes (``PROMETHEUS_MULTIPROC_DIR`` set). So nothing here imports
it at module level: the gunicorn master and the Celery worker's main process set the directory after
importing the app and before forking their workers, and the first import (in a worker) sees it. This package
never imports blueprints or services; they call it.
"""
