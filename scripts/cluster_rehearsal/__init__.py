"""A multi-host rehearsal: the portal's production topology on one machine, then a user journey through it.

`scripts/cluster` runs it (`python -m scripts.cluster_rehearsal`). `services` starts and stops the
processes (PostgreSQL database, Redis, SeaweedFS, osmem-server, an SMTP sink, two gunicorn app hosts, the
RQ worker, nginx), all on 127.0.0.1 and free ports in a temporary folder; `journey` drives the checks
through nginx.
"""
