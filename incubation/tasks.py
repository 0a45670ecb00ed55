"""Background jobs of incubation (run after commit through portal.jobs)."""

from __future__ import annotations

import logging

from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy import select

from incubation import services
from incubation.models import Program
from portal import audit
from portal.auth.models import User
from portal.db import rollback
from portal.extensions import db
from portal.mail import send_to_user

log = logging.getLogger(__name__)


def auto_assign_job(program_id: int, per_application: int, pool_ids: list[int] | None, by_id: int | None) -> None:
    """Automatic reviewer assignment of a large program. The outcome is recorded on the program (shown on its
    applications page and by the API) and mailed to the manager who asked for it."""
    program = db.session.get(Program, program_id)
    if program is None:
        return
    by = db.session.get(User, by_id) if by_id else None
    pool = list(db.session.scalars(select(User).where(User.id.in_(pool_ids)).order_by(User.id))) \
        if pool_ids is not None else None
    try:
        created = services.auto_assign(program, per_application, pool, by)
    except Exception as error:  # the failure must be visible to the manager, not only in the log
        log.exception("automatic assignment of program %s failed", program_id)
        rollback()
        program = db.session.get(Program, program_id)
        message = getattr(error, "message", None) or _("The automatic assignment failed.")
        audit.record(services.AUTO_ASSIGN_FAILED, program, after={"error": str(message)}, actor_id=by_id)
        return
    short = services.short_of_reviewers(program, per_application)
    audit.record(services.AUTO_ASSIGN_DONE, program, after={"created": len(created), "short": short,
                                                            "reviewers_per_application": per_application},
                 actor_id=by_id)
    if by is not None:
        send_to_user(by, lambda: (
            _("Reviewers assigned for %(program)s", program=program.title),
            ngettext("The automatic assignment made %(num)s new assignment.",
                     "The automatic assignment made %(num)s new assignments.", len(created))
            + ("\n" + ngettext("%(num)s application still has too few reviewers.",
                               "%(num)s applications still have too few reviewers.", short) if short else "")),
            kind="review.assignment")
