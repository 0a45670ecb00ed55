"""The search form: validates the query string of the search page and of /api/v1/search alike."""

from __future__ import annotations

import math

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional, ValidationError

from portal.forms import IntegerField
from portal.search.documents import CAMPAIGN, MENTOR, PROJECT, RESOURCE
from portal.search.interfaces import SearchQuery
from portal.search.text import MAX_QUERY_LENGTH

TYPE_LABELS = {MENTOR: _l("Mentors"), RESOURCE: _l("Labs & equipment"), PROJECT: _l("Projects"),
               CAMPAIGN: _l("Campaigns")}
SORT_LABELS = {"relevance": _l("Best match"), "rating": _l("Highest rated"), "price": _l("Lowest price"),
               "newest": _l("Newest")}
MAX_FREE_WINDOW_DAYS = 31
LANGUAGE_LABELS = {"zh": "中文", "en": "English", "de": "Deutsch", "ja": "日本語", "ko": "한국어", "fr": "Français"}


class SearchForm(FlaskForm):
    class Meta:
        csrf = False  # a GET form: nothing to forge

    q = StringField(_l("Search"), validators=[Optional(), Length(max=MAX_QUERY_LENGTH)],
                    description=_l("Words to find; at most 200 characters"))
    type = SelectField(_l("Type"), choices=[("", _l("Everything")), *TYPE_LABELS.items()], validators=[Optional()],
                       validate_choice=True)
    city = StringField(_l("City"), validators=[Optional(), Length(max=80)])
    industry = StringField(_l("Industry"), validators=[Optional(), Length(max=120)])
    language = StringField(_l("Language"), validators=[Optional(), Length(max=20)])
    kind = StringField(_l("Kind"), validators=[Optional(), Length(max=40)])
    price_min = IntegerField(_l("Price from (minor units)"), validators=[Optional(), NumberRange(min=0)])
    price_max = IntegerField(_l("Price up to (minor units)"), validators=[Optional(), NumberRange(min=0)])
    rating = FloatField(_l("Rated at least"), validators=[Optional(), NumberRange(min=1, max=5)],
                          description=_l("Average of reviews, 1 to 5"))
    free_from = DateField(_l("Free from"), validators=[Optional()],
                          description=_l("Resources with bookable time between these dates (their local time)"))
    free_to = DateField(_l("Free until"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), choices=list(SORT_LABELS.items()), default="relevance",
                       validators=[Optional()])

    def validate_price_max(self, field) -> None:
        if field.data is not None and self.price_min.data is not None and field.data < self.price_min.data:
            raise ValidationError(_l("The upper price must not be below the lower price."))

    def validate_rating(self, field) -> None:
        if field.data is not None and not math.isfinite(field.data):  # "nan" passes NumberRange
            raise ValidationError(_l("Number must be between %(min)s and %(max)s.", min=1, max=5))

    def validate_free_to(self, field) -> None:
        start = self.free_from.data
        if field.data is not None and start is None:
            raise ValidationError(_l("Give the first day too."))
        if field.data is not None and start is not None:
            if field.data < start:
                raise ValidationError(_l("The last day must not be before the first day."))
            if (field.data - start).days >= MAX_FREE_WINDOW_DAYS:
                raise ValidationError(_l("At most %(days)s days.", days=MAX_FREE_WINDOW_DAYS))

    def to_query(self, page: int, per_page: int) -> SearchQuery:
        return SearchQuery(
            text=(self.q.data or "").strip(), types=(self.type.data,) if self.type.data else (),
            city=(self.city.data or "").strip(), industry=(self.industry.data or "").strip(),
            language=(self.language.data or "").strip(), kind=(self.kind.data or "").strip(),
            price_min=self.price_min.data, price_max=self.price_max.data,
            rating_min=self.rating.data, sort=self.sort.data or "relevance",
            free_from=self.free_from.data, free_to=self.free_to.data or self.free_from.data,
            page=page, per_page=per_page)
