"""The resources blueprint (HTML) and what its page modules share."""


from flask import Blueprint

from resources.forms import AUDIENCE_LABELS, KIND_LABELS, UNIT_LABELS

bp = Blueprint("resources", "resources", url_prefix="/resources", template_folder="templates")


@bp.app_context_processor
def labels():
    return {"resource_kind_labels": KIND_LABELS, "audience_labels": AUDIENCE_LABELS, "unit_labels": UNIT_LABELS}
