"""The yardstick of ``python -m bench clientlist``: a bare Flask + SQLAlchemy + Jinja page.

One route reads 50 rows from a SQLite file with the ORM and renders them as a table through a
cached Jinja template; no login, no extensions. Served by gunicorn as
``bench.baseline_app:create()`` with ``BENCH_BASELINE_DB`` naming the SQLite file (created and
filled on first start).
"""

from __future__ import annotations

import os
import random
from datetime import date, timedelta

from flask import Flask, render_template
from jinja2 import DictLoader
from sqlalchemy import BigInteger, Date, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

ROWS = 50

TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Clients</title></head>
<body><main><h1>Clients</h1>
<table><thead><tr><th>Number</th><th>Name</th><th>City</th><th>Status</th><th>Due</th>
<th>Balance</th></tr></thead><tbody>
{% for r in rows %}<tr><td><a href="/clients/{{ r.id }}">{{ r.number }}</a></td>
<td>{{ r.name }}</td><td>{{ r.city }}</td><td>{{ r.status }}</td><td>{{ r.due }}</td>
<td>{{ r.balance }}</td></tr>
{% endfor %}</tbody></table></main></body></html>
"""


class Base(DeclarativeBase):
    pass


class Row(Base):
    __tablename__ = "rows"

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(200), index=True)
    city: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    due: Mapped[date] = mapped_column(Date)
    balance: Mapped[int] = mapped_column(BigInteger)


def _fill(engine, count: int = 1000) -> None:
    rng = random.Random(3)
    Base.metadata.create_all(engine)
    with Session(engine) as db:
        if db.scalar(select(Row.id).limit(1)) is not None:
            return
        db.add_all(Row(number=f"C{i:06d}", name=f"Client {rng.randrange(10**6):06d}",
                       city=rng.choice(["Budapest", "Debrecen", "Szeged", "Pécs"]),
                       status=rng.choice(["active", "prospect", "closed"]),
                       due=date(2026, 1, 1) + timedelta(days=rng.randrange(300)),
                       balance=rng.randrange(10**6)) for i in range(1, count + 1))
        db.commit()


def create() -> Flask:
    """Return the baseline app over the SQLite file named by ``BENCH_BASELINE_DB``."""
    engine = create_engine(f"sqlite:///{os.environ['BENCH_BASELINE_DB']}")
    _fill(engine)
    app = Flask(__name__)
    app.jinja_loader = DictLoader({"table.html": TEMPLATE})

    @app.get("/")
    def index():
        with Session(engine) as db:
            rows = db.scalars(select(Row).order_by(Row.name).limit(ROWS)).all()
            return render_template("table.html", rows=rows)

    return app
