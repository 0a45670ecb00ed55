from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from portal import images
from portal.auth.forms import EmptyForm
from portal.db import attempt
from portal.errors import PortalError
from portal.extensions import db
from portal.forms import attach_errors
from portal.organisations import services
from portal.organisations.forms import MemberForm, OrganisationForm
from portal.organisations.models import Invitation, Membership, Organisation
from portal.organisations.policies import RESPOND
from portal.organisations.schemas import MemberInvite, NewOrganisation, OrganisationChanges
from portal.permissions import Permission, can, load
from portal.schemas import from_form

bp = Blueprint("organisations", __name__, url_prefix="/organisations", template_folder="templates")


@bp.get("/")
def index():
    organisations = db.session.scalars(select(Organisation).order_by(Organisation.kind, Organisation.name)).all()
    return render_template("organisations/index.html", organisations=organisations)


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create():
    form = OrganisationForm()
    if form.validate_on_submit():
        try:
            with attempt():
                organisation = services.create_organisation(current_user, from_form(NewOrganisation, form))
        except PortalError as error:
            attach_errors(form, error)
        else:
            flash(_("Organisation created."), "success")
            return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template("organisations/form.html", form=form)


@bp.route("/<int:organisation_id>", methods=["GET", "POST"])
def detail(organisation_id: int):
    organisation = load(Organisation, organisation_id, Permission.VIEW)
    member_form = MemberForm()
    is_owner = can(current_user, Permission.MANAGE, organisation)
    if request.method == "POST" and not is_owner:  # only owners invite; refused before the form is read
        abort(401 if not current_user.is_authenticated else 403)
    if is_owner and member_form.validate_on_submit():
        try:
            with attempt():
                result = services.add_member(organisation, from_form(MemberInvite, member_form), current_user)
        except PortalError as error:
            attach_errors(member_form, error)
        else:
            flash(_("Invitation sent to %(email)s. They become a member when they accept.", email=result.email),
                  "success")
            return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    is_member = current_user.is_authenticated and services.role_in(current_user, organisation.id) is not None
    return render_template("organisations/detail.html", organisation=organisation, member_form=member_form,
                           is_owner=is_owner, is_member=is_member or is_owner,
                           invitations=services.pending_invitations(organisation) if is_owner else [],
                           action_form=EmptyForm())


@bp.route("/<int:organisation_id>/edit", methods=["GET", "POST"])
@login_required
def edit(organisation_id: int):
    organisation = load(Organisation, organisation_id, Permission.EDIT)
    form = OrganisationForm(obj=organisation)
    del form.kind  # the kind decides which features an organisation has; it does not change
    logo_form = images.LogoForm(formdata=None)
    if form.validate_on_submit():
        try:
            with attempt():
                services.update_organisation(organisation, from_form(OrganisationChanges, form))
        except PortalError as error:
            attach_errors(form, error)
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("organisations.detail", organisation_id=organisation.id))
    return render_template("organisations/form.html", form=form, organisation=organisation, logo_form=logo_form)


@bp.post("/<int:organisation_id>/logo")
@login_required
def logo(organisation_id: int):
    """Upload (or remove) the organisation's logo, shown on its card, its page and its projects."""
    organisation = load(Organisation, organisation_id, Permission.EDIT)
    logo_form = images.LogoForm()
    if not logo_form.validate_on_submit():
        abort(400)
    try:
        with attempt():
            if request.form.get("remove"):
                images.clear_image(organisation, "logo_id", action="organisation.logo_removed")
            else:
                images.set_image(organisation, "logo_id", request.files.get("logo"), field="logo",
                                 user=current_user, action="organisation.logo_set")
    except PortalError as error:
        attach_errors(logo_form, error)
        form = OrganisationForm(obj=organisation, formdata=None)
        del form.kind
        return render_template("organisations/form.html", form=form, organisation=organisation,
                               logo_form=logo_form), error.status
    flash(_("Logo removed.") if request.form.get("remove") else _("Logo saved."), "success")
    return redirect(url_for("organisations.edit", organisation_id=organisation.id))


@bp.post("/<int:organisation_id>/members/<int:membership_id>/remove")
@login_required
def member_remove(organisation_id: int, membership_id: int):
    membership = load(Membership, membership_id, Permission.MANAGE)
    if membership.organisation_id != organisation_id:
        return redirect(url_for("organisations.detail", organisation_id=organisation_id))
    if EmptyForm().validate_on_submit():
        try:
            with attempt():
                services.remove_member(membership.organisation, membership)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            flash(_("Member removed."), "info")
    return redirect(url_for("organisations.detail", organisation_id=organisation_id))


@bp.get("/invitations/<token>")
@login_required
def invitation_accept(token: str):
    """The mailed link: shows the invitation; the invitee answers with the buttons (POST by id)."""
    try:
        invitation = services.invitation_for_token(token)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(url_for("main.dashboard"))
    if not services.is_invitee(current_user, invitation):
        flash(_("This invitation was sent to another email address."), "danger")
        return redirect(url_for("main.dashboard"))
    return render_template("organisations/invitation.html", invitation=invitation, form=EmptyForm())


@bp.post("/invitations/<int:invitation_id>/<any(accept, decline):answer>")
@login_required
def invitation_respond(invitation_id: int, answer: str):
    invitation = load(Invitation, invitation_id, RESPOND)
    if not EmptyForm().validate_on_submit():
        abort(400)
    try:
        with attempt():
            if answer == "accept":
                services.accept_invitation(invitation, current_user)
            else:
                services.decline_invitation(invitation, current_user)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(url_for("main.dashboard"))
    if answer == "accept":
        flash(_("Welcome to %(org)s.", org=invitation.organisation.name), "success")
        return redirect(url_for("organisations.detail", organisation_id=invitation.organisation_id))
    flash(_("Invitation declined."), "info")
    return redirect(url_for("main.dashboard"))
