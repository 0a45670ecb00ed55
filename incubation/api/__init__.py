"""JSON API of incubation: projects, documents, programs and review, mentors, support, ideas (one module each)."""

from incubation.api import (
    ideas,  # noqa: F401
    mentors,  # noqa: F401
    programs,  # noqa: F401
    projects,  # noqa: F401
    support,  # noqa: F401
)
from incubation.api.common import bp

__all__ = ["bp"]
