"""Gunicorn settings for the CME sync server; docs/deployment.md explains each choice.

    .venv/bin/gunicorn -c gunicorn.conf.py            # any setting can be overridden on the command line

Field devices sync over poor mobile links: a 2G connection sends about 6 KiB/s, so one 256 KiB photo chunk takes
some 40 s to arrive, and a few trickling sockets are normal, not an attack. With gunicorn's default "sync" workers
each such request holds a whole worker process (4 trickling sockets stopped `-w 4` answering anyone), and the
worker timeout, which sync workers measure per request, killed the slow chunk so that photo could never upload.

Threaded workers ("gthread") fix both: a connection holds one thread while its body trickles in, and the worker's
main thread keeps sending its heartbeat, so `timeout` only restarts a worker that is truly stuck. Put a reverse
proxy that buffers request bodies in front as well (docs/deployment.md): then slow bodies never reach gunicorn.
"""

import os

wsgi_app = "server.wsgi:app"
bind = [os.environ.get("CME_BIND", "127.0.0.1:8000")]

worker_class = "gthread"
# Processes: about one per core (threads give the concurrency); WEB_CONCURRENCY overrides, as on most platforms.
workers = int(os.environ.get("WEB_CONCURRENCY", str(max(2, os.cpu_count() or 1))))
# Threads per process: requests in flight at once. Kept within each process's database pool (5 + 10 overflow,
# server/adapters/db.py) so that a burst waits for a thread rather than for a database connection.
threads = int(os.environ.get("CME_THREADS", "12"))

# A heartbeat deadline under gthread, not a request deadline: a worker whose main loop is stuck this long is
# restarted. Slow uploads are unaffected (the client also sizes its chunks for about 10 s each).
timeout = 30
# On restart, requests in flight get this long to finish; an upload cut short resumes from its tus offset.
graceful_timeout = 30
# Idle keep-alive connections wait in the worker's poller, not in a thread, so a few seconds cost little.
keepalive = 5

# Request line and header limits (gunicorn's defaults, stated so nobody raises them by accident).
limit_request_line = 4094
limit_request_fields = 100
limit_request_field_size = 8190

accesslog = "-"
errorlog = "-"

# No runtime control socket (gunicorn 25+): nothing here uses `gunicornc`, and its default path is shared by
# every instance on the host, so two instances (e.g. blue/green) would fight over it.
control_socket_disable = True
