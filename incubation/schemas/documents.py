"""Project documents and the NDA: the upload's fields; what the documents API answers."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from incubation.models import Confidentiality
from portal.schemas import Command, Out, line

ConfidentialityName = Literal[Confidentiality.values()]  # type: ignore[valid-type]


class NewDocument(Command):
    """The fields of a document upload (multipart/form-data, next to its `file`)."""

    title: line(160, min_length=1)
    confidentiality: ConfidentialityName = Confidentiality.NDA


class DocumentOut(Out):
    id: int
    title: str
    confidentiality: str
    size: int
    content_type: str
    access: Literal["ok", "login", "nda"] = Field(description="what stands between you and the file")
    download_url: str
    created_at: datetime | None


class NdaOut(Out):
    version: int | None
    text: str | None
    accepted: bool | None = Field(None, description="on GET: whether you accepted this version")


class NdaAcceptanceOut(Out):
    version: int
    accepted_at: datetime | None


class ViewerOut(Out):
    id: int
    name: str
    email: str


class DocumentViewOut(Out):
    document_id: int
    document: str
    user: ViewerOut | None
    nda_version: int | None
    at: datetime | None
