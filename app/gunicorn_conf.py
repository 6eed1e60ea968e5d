"""gunicorn settings of ``make serve`` (``gunicorn -c python:app.gunicorn_conf``), kept in one place.

One process (see docs/deploy.md for several behind nginx), its requests read whole in the
main loop before a thread takes them (``app.serving``). Threads mostly wait: only
``WORKING_REQUESTS`` of them work at once (``app.slots``), the others hold residents'
live-event streams (at most ``LIVE_STREAMS``) or wait for the media loop or a PDF worker.
"""

workers = 1
threads = 64
worker_class = "app.serving.WholeRequestWorker"
graceful_timeout = 10
