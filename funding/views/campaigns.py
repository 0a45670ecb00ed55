"""HTML pages of funding: campaigns."""

from __future__ import annotations

import re

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from funding import community, ledger, matchfunding, services, settle_now
from funding.forms import (
    CampaignForm,
    CommentForm,
    MediaForm,
    RefundForm,
    RejectionForm,
    RewardForm,
    StretchGoalForm,
    UpdateForm,
    to_minor,
)
from funding.models import (
    Campaign,
    CampaignStatus,
    Pledge,
)
from funding.schemas import NewCampaign, NewComment, NewReward, NewStretchGoal, NewUpdate
from funding.views.common import (
    LEDGER_LABELS,
    bp,
    show_errors,
)
from incubation.models import Project
from portal.auth.forms import EmptyForm
from portal.db import attempt
from portal.errors import PortalError, ValidationFailed
from portal.exports import csv_download
from portal.extensions import db
from portal.permissions import Permission, can, load
from portal.schemas import from_form
from portal.uploads import IMAGES, send_stored, store_upload

# ---- campaigns -------------------------------------------------------------------------------

CAMPAIGNS_PER_PAGE = 24


@bp.get("/campaigns/")
def campaign_index():
    from funding import listing
    from funding.views.common import FUNDING_MODEL_LABELS

    tab = request.args.get("tab", listing.LIVE)
    if tab not in listing.TABS:
        tab = listing.LIVE
    funding_model = request.args.get("funding_model") or None
    if funding_model is not None and funding_model not in FUNDING_MODEL_LABELS:
        funding_model = None
    categories = listing.categories()
    category = request.args.get("category") or None
    if category not in categories:
        category = None
    text = (request.args.get("q") or "").strip()[:listing.SEARCH_MAX]
    page = db.paginate(listing.campaigns_in_tab(tab, current_user, funding_model, category=category, text=text),
                       page=request.args.get("page", 1, type=int), per_page=CAMPAIGNS_PER_PAGE, error_out=False)
    return render_template("funding/campaign_index.html", page=page, campaigns=page.items, tab=tab,
                           tabs=[(key, listing.TAB_LABELS[key]) for key in listing.TABS],
                           funding_model=funding_model, funding_models=list(FUNDING_MODEL_LABELS.items()),
                           category=category, categories=categories, q=text,
                           totals=services.totals_for(c.id for c in page.items))


@bp.get("/campaigns/<int:campaign_id>")
def campaign_detail(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    pledged, backers = campaign.totals()
    team = can(current_user, Permission.MANAGE, campaign)
    mine = []
    if current_user.is_authenticated:
        mine = list(db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id,
                                                            Pledge.backer_id == current_user.id)
                                       .order_by(Pledge.id.desc())))
    return render_template("funding/campaign_detail.html", campaign=campaign, pledged=pledged, backers=backers,
                           claimed=services.claimed_per_reward(campaign), team=team, my_pledges=mine,
                           stretch_goals=community.stretch_goals(campaign),
                           updates=community.updates_for(campaign, current_user, team),
                           comments=community.comments_for(campaign), comment_form=CommentForm(),
                           action_form=EmptyForm(), match_funds=matchfunding.match_funds(campaign),
                           own_campaign=services.own_campaign_reason(campaign, current_user),
                           is_admin=current_user.is_authenticated and current_user.is_admin,
                           rejection_form=RejectionForm(),
                           settlement_state=settle_now.settlement_state(campaign) if team else None)


@bp.get("/campaigns/<int:campaign_id>/media")
def campaign_media(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    if campaign.media_id is None:
        return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id))
    from portal.uploads import StoredFile

    return send_stored(db.session.get(StoredFile, campaign.media_id), as_attachment=False)


@bp.post("/campaigns/<int:campaign_id>/gallery")
@login_required
def campaign_gallery_add(campaign_id: int):
    """One more picture for the campaign's gallery (shown on its page under the cover)."""
    from portal.images import GalleryForm

    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    form = GalleryForm()
    if not form.validate_on_submit():
        raise ValidationFailed(_("Some fields are not valid."), form.errors)
    try:
        services.add_gallery_image(campaign, form.image.data, form.caption.data or "", current_user)
    except PortalError as error:
        error.message = _("%(field)s: %(message)s", field=_("Gallery image"), message=error.message)
        raise
    flash(_("Image added to the gallery."), "success")
    return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id) + "#gallery")


@bp.post("/campaigns/<int:campaign_id>/gallery/<int:image_id>/remove")
@login_required
def campaign_gallery_remove(campaign_id: int, image_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    if not EmptyForm().validate_on_submit():
        abort(400)
    services.remove_gallery_image(campaign, image_id)
    flash(_("Image removed from the gallery."), "success")
    return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id) + "#gallery")


@bp.route("/campaigns/new", methods=["GET", "POST"])
@login_required
def campaign_new():
    form = CampaignForm()
    from incubation.services import member_organisation_ids

    projects = db.session.scalars(select(Project).where(Project.organisation_id.in_(
        member_organisation_ids(current_user) or [0])).order_by(Project.title)).all()
    if request.method == "GET" and request.args.get("project_id", "").isdigit():
        form.project_id.data = int(request.args["project_id"])
    eligible = {p.id for p in projects if services.crowdfunding_gate_failure(p) is None}
    status = 200
    if request.method == "POST" and request.form.get("project_id"):
        load(Project, request.form["project_id"], Permission.EDIT)  # someone else's project: 403 before anything
    if form.validate_on_submit():
        try:
            project = load(Project, form.project_id.data, Permission.EDIT)
            goal = {"amount": form.goal.form.amount.data or 0, "currency": form.goal.form.currency.data or "CNY"}
            campaign = services.create_campaign(project, from_form(NewCampaign, form, goal=goal))
            if form.launch_at.data:
                from funding import listing

                listing.set_launch(campaign, form.launch_at.data)
        except PortalError as error:
            db.session.rollback()
            show_errors(form, error)
            status = error.status
        else:
            flash(_("Draft campaign created. Add reward tiers, then submit it for approval."), "success")
            return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id))
    elif request.method == "POST":
        status = 400
    return render_template("funding/campaign_form.html", form=form, projects=projects, eligible=eligible), status


@bp.route("/campaigns/<int:campaign_id>/manage", methods=["GET", "POST"])
@login_required
def campaign_manage(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    reward_form, stretch_form, update_form, media_form = (RewardForm(prefix="reward"), StretchGoalForm(prefix="goal"),
                                                          UpdateForm(prefix="update"), MediaForm(prefix="media"))
    reward_form.amount.currency = stretch_form.amount.currency = campaign.currency  # amounts in major units
    action = request.form.get("action")
    try:
        if action == "reward" and reward_form.validate_on_submit():
            fees = _parse_fees(request.form.get("shipping_fees", ""), campaign.currency)
            services.add_reward(campaign, from_form(NewReward, reward_form, shipping_fees=fees,
                                                    estimated_delivery=reward_form.estimated_delivery.data or None))
            flash(_("Reward added."), "success")
        elif action == "goal" and stretch_form.validate_on_submit():
            community.add_stretch_goal(campaign, from_form(NewStretchGoal, stretch_form))
            flash(_("Stretch goal added."), "success")
        elif action == "update" and update_form.validate_on_submit():
            community.post_update(campaign, current_user, from_form(NewUpdate, update_form))
            flash(_("Update posted."), "success")
        elif action == "media" and media_form.validate_on_submit():
            stored = store_upload(media_form.file.data, field="file", kinds=IMAGES, max_bytes=5 * 1024 * 1024,
                                  uploaded_by_id=current_user.id)
            services.set_media(campaign, stored.id)
            flash(_("Image saved."), "success")
        elif action in ("submit", "cancel", "fulfil") and EmptyForm().validate_on_submit():
            {"submit": services.submit_campaign, "cancel": services.cancel_campaign,
             "fulfil": services.mark_fulfilled}[action](campaign)
            flash(_("Saved."), "success")
        elif action in ("reward", "goal", "update", "media") and request.method == "POST":
            raise ValidationFailed(_("Some fields are not valid."), {})  # the form shows why: a 400
        else:
            action = None
    except PortalError as error:
        db.session.rollback()
        show_errors({"reward": reward_form, "goal": stretch_form, "update": update_form,
                       "media": media_form}.get(action, reward_form), error)
        return render_template("funding/campaign_manage.html", campaign=campaign, reward_form=reward_form,
                               stretch_form=stretch_form, update_form=update_form, media_form=media_form,
                               action_form=EmptyForm(), stretch_goals=community.stretch_goals(campaign),
                               refundable=services.refundable_pledges(campaign), refund_form=_refund_form(campaign)), 400
    if action:
        return redirect(url_for("funding.campaign_manage", campaign_id=campaign.id))
    return render_template("funding/campaign_manage.html", campaign=campaign, reward_form=reward_form,
                           stretch_form=stretch_form, update_form=update_form, media_form=media_form,
                           action_form=EmptyForm(), stretch_goals=community.stretch_goals(campaign),
                               refundable=services.refundable_pledges(campaign), refund_form=_refund_form(campaign))


def _refund_form(campaign: Campaign) -> RefundForm:
    form = RefundForm(formdata=None)
    form.amount.currency = campaign.currency
    return form


def _parse_fees(text: str, currency: str) -> dict[str, int]:
    """'CN=0, ASIA=50.00, WORLD=1,200.00' (major units) -> {"CN": 0, "ASIA": 5000, "WORLD": 120000}: a comma
    starts a new region only before "NAME=", so amounts may group their thousands."""
    fees = {}
    for part in re.split(r"[,;]\s*(?=[^\W\d][\w-]*\s*=)", (text or "").replace("，", ",").replace("；", ";")):
        if not part.strip():
            continue
        region, _sep, amount = part.partition("=")
        if not _sep:
            raise ValidationFailed.field("shipping_fees", _("Write shipping fees like CN=0, WORLD=120.00."))
        fees[region.strip()] = to_minor(amount, currency, "shipping_fees") or 0
    return fees


@bp.post("/campaigns/<int:campaign_id>/approve")
@login_required
def campaign_approve(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    if EmptyForm().validate_on_submit():
        try:
            with attempt():
                services.approve_campaign(campaign)
        except PortalError as error:
            flash(error.message, "danger")
        else:
            if campaign.is_upcoming():
                from portal.templating import local_time

                flash(_("Approved. The campaign opens for pledges on %(when)s.",
                        when=local_time(campaign.launch_at)), "success")
            else:
                flash(_("The campaign is live."), "success")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/reject")
@login_required
def campaign_reject(campaign_id: int):
    """Admins: refuse a submitted campaign; the reason is mailed to the team (the API's reject, as a form)."""
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    form = RejectionForm()
    if not form.validate_on_submit():
        for message in form.reason.errors or [_("The form was not valid.")]:
            flash(f"{form.reason.label.text}: {message}", "danger")
        return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id) + "#reject")
    try:
        with attempt():
            services.reject_campaign(campaign, form.reason.data.strip())
    except PortalError as error:
        flash(error.message, "danger")
    else:
        flash(_("Campaign rejected. The team has been told why."), "success")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id))


@bp.post("/campaigns/<int:campaign_id>/settle")
@login_required
def campaign_settle(campaign_id: int):
    """Admins: close the campaign now and charge its pledges, as a background job (the same code as the CLI)."""
    campaign = load(Campaign, campaign_id, Permission.ADMIN)
    if EmptyForm().validate_on_submit():
        if campaign.status not in (CampaignStatus.LIVE, CampaignStatus.SUCCESSFUL) or campaign.settled_at:
            flash(_("This campaign has nothing to settle."), "info")
        elif settle_now.request_settlement(campaign):
            flash(_("Settlement started. This page shows when it is done."), "info")
        else:
            flash(_("Settlement of this campaign is already running."), "info")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign_id))


@bp.post("/campaigns/<int:campaign_id>/comments")
@login_required
def comment_create(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    form = CommentForm()
    if form.validate_on_submit():
        try:
            with attempt():
                community.post_comment(campaign, current_user, from_form(NewComment, form))
        except PortalError as error:
            flash(error.message, "danger")
    return redirect(url_for("funding.campaign_detail", campaign_id=campaign.id) + "#comments")


@bp.get("/campaigns/<int:campaign_id>/ledger")
def campaign_ledger(campaign_id: int):
    """The public transparency page: gross, dropped, refunded, fees and net, with a chart and every entry."""
    campaign = load(Campaign, campaign_id, Permission.VIEW)
    figures = ledger.totals(campaign)
    labels = {k: str(v) for k, v in LEDGER_LABELS.items()}
    return render_template("funding/ledger.html", campaign=campaign, figures=figures,
                           entries=ledger.entries(campaign), uses_charts=True,
                           chart=ledger.chart_config(campaign, figures, labels),
                           team=can(current_user, Permission.MANAGE, campaign))


@bp.get("/campaigns/<int:campaign_id>/backers.csv")
@login_required
def backers_csv(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    return csv_download(ledger.backers_csv(campaign), f"campaign-{campaign.id}-backers.csv")


@bp.get("/campaigns/<int:campaign_id>/ledger.csv")
@login_required
def ledger_csv(campaign_id: int):
    campaign = load(Campaign, campaign_id, Permission.MANAGE)
    return csv_download(ledger.ledger_csv(campaign), f"campaign-{campaign.id}-ledger.csv")
