"""The bare-Flask ceiling page for bench/platform_bench.py (adapted from ../shared/bench/flask_ceiling.py).

One Flask view renders a cached Jinja template over a 20-item in-memory list: no database, no session,
no auth, no i18n. Served with the portal venv's own Flask, Jinja and gunicorn (2 sync workers):

    cd bench && gunicorn --workers 2 --bind 127.0.0.1:PORT 'platform_ceiling:create_app()'
"""

from __future__ import annotations

ITEMS = [{"id": i, "name": f"Microscope {i:02d}", "lab": f"Lab {i % 4}", "price_cents": 1500 + 250 * i}
         for i in range(20)]
TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title></head>
<body><h1>{{ title }}</h1>
<table>{% for item in items %}
<tr><td><a href="/items/{{ item.id }}">{{ item.name }}</a></td><td>{{ item.lab }}</td>
<td>{{ "%.2f"|format(item.price_cents / 100) }}</td></tr>{% endfor %}
</table></body></html>"""


def create_app():
    from flask import Flask, render_template
    from jinja2 import DictLoader

    app = Flask(__name__)
    app.jinja_env.loader = DictLoader({"items.html": TEMPLATE})  # compiled once, then cached like a file

    @app.get("/")
    def items():
        return render_template("items.html", title="Equipment", items=ITEMS)

    return app
