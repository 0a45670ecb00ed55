"""The search form: renders the fields of the search page. The query string itself, of the page and of
/api/v1/search alike, is read and checked by `portal.search.schemas.SearchArgs`."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import DateField, FloatField, SelectField, StringField
from wtforms.validators import Length, NumberRange, Optional

from portal.forms import IntegerField
from portal.search.documents import CAMPAIGN, MENTOR, PROJECT, RESOURCE
from portal.search.text import MAX_QUERY_LENGTH

TYPE_LABELS = {MENTOR: _l("Mentors"), RESOURCE: _l("Labs & equipment"), PROJECT: _l("Projects"),
               CAMPAIGN: _l("Campaigns")}
SORT_LABELS = {"relevance": _l("Best match"), "rating": _l("Highest rated"), "price": _l("Lowest price"),
               "newest": _l("Newest")}
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
    price_min = IntegerField(_l("Price from"), validators=[Optional(), NumberRange(min=0)])
    price_max = IntegerField(_l("Price up to"), validators=[Optional(), NumberRange(min=0)])
    rating = FloatField(_l("Rated at least"), validators=[Optional(), NumberRange(min=1, max=5)],
                          description=_l("Average of reviews, 1 to 5"))
    free_from = DateField(_l("Free from"), validators=[Optional()],
                          description=_l("Resources with bookable time between these dates (their local time)"))
    free_to = DateField(_l("Free until"), validators=[Optional()])
    sort = SelectField(_l("Sort by"), choices=list(SORT_LABELS.items()), default="relevance",
                       validators=[Optional()])
