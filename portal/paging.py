"""A page of a list that is not a database query (a cached ranking): what templates' `pager` macro and the
API's page envelope need, as Flask-SQLAlchemy's Pagination offers them for queries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ListPage:
    items: list[Any] = field(default_factory=list)
    page: int = 1
    per_page: int = 20
    total: int = 0

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int | None:
        return self.page - 1 if self.has_prev else None

    @property
    def next_num(self) -> int | None:
        return self.page + 1 if self.has_next else None
