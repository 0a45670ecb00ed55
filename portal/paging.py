"""A page of a list: what templates' `pager` macro and the API's page envelope need. `page_of` pages a query
in the database (the rows of the page and one COUNT); a list that is not a query (a cached ranking) is
wrapped in `ListPage` directly."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Select, func, select


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


def page_of(stmt: Select, page: int, per_page: int, *, unique: bool = False) -> ListPage:
    """Page `page` of `stmt` (LIMIT/OFFSET in the database) and how many rows the whole statement has.
    `unique`: the statement eager-joins collections (joinedload), so rows are de-duplicated."""
    from portal.extensions import db

    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery()))
    result = db.session.scalars(stmt.limit(per_page).offset((page - 1) * per_page))
    return ListPage(list(result.unique() if unique else result), page, per_page, total or 0)
