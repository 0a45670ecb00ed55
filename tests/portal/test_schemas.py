"""The typed input layer (portal/schemas.py): what every command field guarantees to the services."""

from __future__ import annotations

import unicodedata
from datetime import datetime
from typing import Literal

import pytest
from pydantic import Field

from portal.errors import ValidationFailed
from portal.schemas import Command, Currency, Flag, Id, Minor, Query, from_form, line, text, validate


class Reward(Command):
    title: line(80, min_length=1)
    amount: Minor


class NewThing(Command):
    title: line(20, min_length=1)
    body: text(100) = ""
    organisation_id: Id
    currency: Currency = "CNY"
    kind: Literal["lab", "workshop"] = "lab"
    rewards: list[Reward] = Field(default_factory=list, max_length=3)


class ThingQuery(Query):
    organisation_id: Id | None = None
    open: Flag = False


def refused(model, data) -> dict[str, list[str]]:
    with pytest.raises(ValidationFailed) as caught:
        validate(model, data)
    assert caught.value.status == 400
    return caught.value.fields


def test_text_is_stripped_and_normalised_to_nfc(app):
    decomposed = unicodedata.normalize("NFD", "  Café Qingdao  ")
    assert decomposed != "  Café Qingdao  "
    thing = validate(NewThing, {"title": decomposed, "organisation_id": 1})
    assert thing.title == "Café Qingdao" and unicodedata.is_normalized("NFC", thing.title)


@pytest.mark.parametrize("value", [["a", "b"], [None, None], True, 12345, 1.5, {"x": 1}, None])
def test_nothing_but_text_becomes_text(app, value):
    assert set(refused(NewThing, {"title": value, "organisation_id": 1})) == {"title"}


@pytest.mark.parametrize("value", ["a\x00b", "x\ud83d", "bell\x07"])
def test_control_characters_and_lone_surrogates_are_refused_naming_the_field(app, value):
    fields = refused(NewThing, {"title": "ok", "body": value, "organisation_id": 1})
    assert list(fields) == ["body"]


def test_a_title_is_one_line_and_bounded(app):
    assert list(refused(NewThing, {"title": "two\nlines", "organisation_id": 1})) == ["title"]
    assert list(refused(NewThing, {"title": "x" * 21, "organisation_id": 1})) == ["title"]
    assert list(refused(NewThing, {"title": "   ", "organisation_id": 1})) == ["title"]


@pytest.mark.parametrize("value", [0, -1, 2**31, "7", 7.0, True])
def test_ids_are_whole_numbers_within_the_column(app, value):
    assert list(refused(NewThing, {"title": "ok", "organisation_id": value})) == ["organisation_id"]


def test_nested_fields_are_named_by_their_path(app):
    fields = refused(NewThing, {"title": "ok", "organisation_id": 1,
                                "rewards": [{"title": "Early", "amount": 100}, {"title": "Late", "amount": 2**31}]})
    assert list(fields) == ["rewards.1.amount"]
    assert list(refused(NewThing, {"title": "ok", "organisation_id": 1, "rewards": "many"})) == ["rewards"]


def test_currencies_are_iso_4217(app):
    assert validate(NewThing, {"title": "ok", "organisation_id": 1, "currency": "usd"}).currency == "USD"
    for code in ("ZZZ", "RMB", "12", "CNYY"):
        assert list(refused(NewThing, {"title": "ok", "organisation_id": 1, "currency": code})) == ["currency"]


def test_choices_and_missing_fields(app):
    fields = refused(NewThing, {"kind": "garage"})
    assert set(fields) == {"title", "organisation_id", "kind"}
    assert fields["title"] == ["This field is required."]


def test_messages_are_in_the_callers_language(app):
    with app.test_request_context(headers={"Accept-Language": "zh-CN"}):
        from flask_babel import refresh

        refresh()
        fields = refused(NewThing, {"organisation_id": 1})
    assert fields["title"] != ["This field is required."]


def test_unknown_fields_are_ignored_and_the_command_is_frozen(app):
    thing = validate(NewThing, {"title": "ok", "organisation_id": 1, "is_admin": True})
    assert not hasattr(thing, "is_admin")
    with pytest.raises(Exception):  # noqa: B017 (pydantic's frozen-instance error)
        thing.title = "changed"
    assert thing.sent() == {"title": "ok", "organisation_id": 1}


def test_queries_read_text_as_numbers_and_flags(app):
    query = validate(ThingQuery, {"organisation_id": "42", "open": "1"})
    assert query.organisation_id == 42 and query.open is True
    assert list(refused(ThingQuery, {"organisation_id": "99999999999"})) == ["organisation_id"]
    assert list(refused(ThingQuery, {"organisation_id": "abc"})) == ["organisation_id"]


def test_a_submitted_form_becomes_the_same_command(app):
    from wtforms import Form, IntegerField, StringField

    class ThingForm(Form):
        title = StringField()
        organisation_id = IntegerField()

    form = ThingForm(data={"title": " Lab ", "organisation_id": 3})
    thing = from_form(NewThing, form, currency="EUR")
    assert (thing.title, thing.organisation_id, thing.currency) == ("Lab", 3, "EUR")


class Window(Command):
    title: line(20) = "untitled"
    note: text(50) = "keep"
    cleared: text(50) | None = None
    starts_at: datetime


def test_a_json_body_reads_iso_times_strictly_and_null_as_left_out(app):
    from portal.api import read_body

    body = {"title": None, "note": None, "cleared": None, "starts_at": "2026-12-01T09:30:00+08:00"}
    with app.test_request_context(method="POST", json=body):
        window = read_body(Window)
    assert window.title == "untitled" and window.note == "keep"  # null: left out
    assert window.cleared is None and "cleared" in window.sent()  # null kept where None is the default
    assert window.starts_at.isoformat() == "2026-12-01T09:30:00+08:00"
    for bad in (1764552600, True, "yesterday"):
        with app.test_request_context(method="POST", json={"starts_at": bad}), pytest.raises(ValidationFailed) as caught:
            read_body(Window)
        assert list(caught.value.fields) == ["starts_at"]
