from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user, login_required, login_user, logout_user

from portal.auth import services
from portal.auth.forms import (
    ChangePasswordForm,
    EmptyForm,
    ForgotPasswordForm,
    LocaleForm,
    LoginForm,
    RegisterForm,
    ResetPasswordForm,
    TokenNameForm,
)
from portal.auth.models import ApiToken
from portal.auth.redirects import safe_redirect_target
from portal.auth.schemas import (
    Credentials,
    LocaleChoice,
    NewToken,
    PasswordChange,
    PasswordReset,
    PasswordResetRequest,
    Registration,
)
from portal.db import attempt
from portal.errors import PortalError
from portal.extensions import login_budget, register_budget
from portal.forms import attach_errors
from portal.permissions import Permission, load
from portal.schemas import from_form

bp = Blueprint("auth", __name__, url_prefix="/auth", template_folder="templates")


@bp.route("/register", methods=["GET", "POST"])
@register_budget
def register():
    if current_user.is_authenticated:
        return redirect(url_for("main.dashboard"))
    form = RegisterForm()
    if request.method == "GET":
        from portal.i18n import current_locale_code

        form.locale.data = current_locale_code()
    if form.validate_on_submit():
        try:
            with attempt():
                services.register_user(from_form(Registration, form, locale=form.locale.data or None))
        except services.EmailTaken:
            # The page must not tell whether the address has an account: the same answer as a
            # new registration (the password was hashed all the same), and the owner of the
            # address gets a note instead, from a background job.
            services.registration_attempted(form.email.data)
        except PortalError as error:
            attach_errors(form, error)
            return render_template("auth/register.html", form=form)
        flash(_("Almost done: we sent a confirmation link to %(email)s. You can log in now.",
                email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/register.html", form=form)


@bp.route("/login", methods=["GET", "POST"])
@login_budget
def login():
    if current_user.is_authenticated:
        return redirect(safe_redirect_target(request.args.get("next")))
    form = LoginForm()
    if form.validate_on_submit():
        cmd = from_form(Credentials, form)
        user = services.authenticate(cmd)
        if user is None:
            flash(_("Wrong email or password."), "danger")
        else:
            services.start_session(user)
            login_user(user, remember=form.remember.data)
            flash(_("Logged in."), "success")
            return redirect(safe_redirect_target(request.args.get("next")))
    return render_template("auth/login.html", form=form)


@bp.post("/logout")
def logout():
    form = EmptyForm()
    if form.validate_on_submit():
        services.end_session()
        logout_user()
        flash(_("Logged out."), "info")
    return redirect(url_for("main.index"))


@bp.get("/confirm/<token>")
def confirm(token: str):
    try:
        user = services.confirm_email(token)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(url_for("auth.login"))
    flash(_("Thank you, %(email)s is confirmed.", email=user.email), "success")
    return redirect(url_for("main.dashboard") if current_user.is_authenticated else url_for("auth.login"))


@bp.post("/confirm/resend")
@login_required
def resend_confirmation():
    form = EmptyForm()
    if form.validate_on_submit() and not current_user.is_confirmed:
        services.send_confirmation(current_user)
        flash(_("We sent a new confirmation link to %(email)s.", email=current_user.email), "info")
    return redirect(url_for("main.dashboard"))


@bp.route("/forgot-password", methods=["GET", "POST"])
@login_budget
def forgot_password():
    form = ForgotPasswordForm()
    if form.validate_on_submit():
        services.request_password_reset(from_form(PasswordResetRequest, form).email)
        flash(_("If an account exists for %(email)s, we sent it a link to reset the password.",
                email=form.email.data), "info")
        return redirect(url_for("auth.login"))
    return render_template("auth/forgot_password.html", form=form)


@bp.route("/reset-password/<token>", methods=["GET", "POST"])
@login_budget
def reset_password(token: str):
    try:
        services.user_for_reset_token(token)
    except PortalError as error:
        flash(error.message, "danger")
        return redirect(url_for("auth.forgot_password"))
    form = ResetPasswordForm()
    if form.validate_on_submit():
        try:
            with attempt():
                services.reset_password(token, from_form(PasswordReset, form))
        except PortalError as error:
            attach_errors(form, error)
        else:
            flash(_("Your password has been changed. Log in with the new one. Every other login and "
                    "every personal API token of your account has been revoked."), "success")
            return redirect(url_for("auth.login"))
    return render_template("auth/reset_password.html", form=form)


@bp.route("/account", methods=["GET", "POST"])
@login_required
def account():
    token_form = TokenNameForm(prefix="token")
    password_form = ChangePasswordForm(prefix="password")
    locale_form = LocaleForm(prefix="locale", locale=current_user.locale or "en")
    new_token = None
    action = request.form.get("action")
    if action == "create_token" and token_form.validate_on_submit():
        _token, new_token = services.create_api_token(current_user, from_form(NewToken, token_form).name)
        flash(_("Token created. Copy it now: it will not be shown again."), "success")
    elif action == "change_password" and password_form.validate_on_submit():
        try:
            with attempt():
                revoked = services.change_password(current_user, from_form(PasswordChange, password_form))
        except PortalError as error:
            attach_errors(password_form, error)
        else:
            flash(ngettext("Password changed. Your other logins have been ended and %(num)d API token revoked.",
                           "Password changed. Your other logins have been ended and %(num)d API tokens revoked.",
                           revoked), "success")
            return redirect(url_for("auth.account"))
    elif action == "set_locale" and locale_form.validate_on_submit():
        services.set_locale(current_user, from_form(LocaleChoice, locale_form))
        return redirect(url_for("auth.account"))
    return render_template("auth/account.html", token_form=token_form, password_form=password_form,
                           locale_form=locale_form, tokens=services.active_tokens(current_user),
                           new_token=new_token, revoke_form=EmptyForm())


@bp.post("/account/tokens/<int:token_id>/revoke")
@login_required
def token_revoke(token_id: int):
    token = load(ApiToken, token_id, Permission.EDIT)
    if EmptyForm().validate_on_submit():
        services.revoke_api_token(token)
        flash(_("Token “%(name)s” revoked.", name=token.name), "info")
    return redirect(url_for("auth.account"))
