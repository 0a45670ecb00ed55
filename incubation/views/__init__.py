"""HTML pages of incubation: projects, programs and review, mentors, support, ideas (one module each)."""

from incubation.views import (
    ideas,  # noqa: F401
    mentors,  # noqa: F401
    programs,  # noqa: F401
    projects,  # noqa: F401
    support,  # noqa: F401
)
from incubation.views.common import TEMPLATE_GLOBALS, bp

__all__ = ["TEMPLATE_GLOBALS", "bp"]
