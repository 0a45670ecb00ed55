"""Payment providers behind one interface: Stripe (with keys) and a clearly labelled sandbox (without).

Settlement, pledges, refunds and webhooks only talk to `PaymentProvider`. `get_provider()` picks the
Stripe adapter when `STRIPE_SECRET_KEY` is set, the sandbox otherwise; tests and the benchmark may
install their own instance in `app.extensions["funding_provider"]`.

The sandbox follows Stripe's test cards so the whole flow works offline:
4242424242424242 succeeds; 4000000000000341 is saved but declined when charged; 4000002500003155
needs authentication (3-D Secure) when charged off-session; 4000000000000002 is declined when saved.
Like Stripe, it answers a repeated idempotency key with the PaymentIntent it created the first time, and
it keeps its state in the database (`funding_sandbox_object`), so any process or host continues any flow.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Protocol

from flask import current_app
from flask_babel import gettext as _

from portal.errors import ValidationFailed


class ChargeStatus:
    SUCCEEDED = "succeeded"
    REQUIRES_ACTION = "requires_action"
    FAILED = "failed"
    PROCESSING = "processing"  # outcome arrives later by webhook


@dataclass
class ChargeResult:
    status: str
    payment_ref: str | None = None
    fee: int | None = None
    error_code: str | None = None
    error_message: str | None = None
    client_secret: str | None = None


@dataclass
class SavedCard:
    customer_ref: str
    payment_method_ref: str
    label: str


@dataclass
class SetupIntentInfo:
    id: str
    client_secret: str
    status: str
    payment_method_ref: str | None = None
    customer_ref: str | None = None


@dataclass
class RefundResult:
    refund_ref: str
    amount: int


class ProviderUnavailable(Exception):
    """The provider could not be reached or answered an error that says nothing about the card.

    The outcome of the call is unknown: the attempt stays pending and is retried with the same key.
    """


class PaymentProvider(Protocol):
    name: str
    label: str
    in_process: bool  # True only for the in-memory sandbox of tests and the demo (no call leaves the process)

    def ensure_customer(self, email: str, name: str, existing: str | None) -> str: ...

    def create_setup_intent(self, customer_ref: str) -> SetupIntentInfo: ...

    def retrieve_setup_intent(self, setup_intent_ref: str) -> SetupIntentInfo: ...

    def save_card(self, customer_ref: str, payment_method: str, field: str = "payment_method") -> SavedCard: ...

    def charge(self, *, amount: int, currency: str, customer_ref: str | None, payment_method_ref: str,
               idempotency_key: str, metadata: dict[str, str], off_session: bool = True) -> ChargeResult: ...

    def retrieve_payment(self, payment_ref: str) -> ChargeResult: ...

    def complete_authentication(self, payment_ref: str) -> ChargeResult: ...

    def refund(self, *, payment_ref: str, amount: int, idempotency_key: str) -> RefundResult: ...


def estimated_card_fee(amount: int) -> int:
    """The sandbox's stand-in for Stripe's processing fee: 2.9% + 30 minor units, rounded half up."""
    return (amount * 29 + 500) // 1000 + 30


# ---- sandbox ---------------------------------------------------------------------------------

# test card number -> (sandbox payment method id, label)
SANDBOX_CARDS = {
    "4242424242424242": ("pm_sandbox_visa", "Visa •••• 4242 (sandbox)"),
    "4000000000000341": ("pm_sandbox_charge_declined", "Visa •••• 0341 (sandbox)"),
    "4000002500003155": ("pm_sandbox_authentication_required", "Visa •••• 3155 (sandbox)"),
}
SANDBOX_SETUP_DECLINED = {"4000000000000002"}
SANDBOX_SUFFIX = " (sandbox)"


def card_text(label: str | None) -> str:
    """A saved card's label as a person reads it: the sandbox's "(sandbox)" mark in the reader's language.
    The stored label (and the API's `card`) keeps the English mark."""
    if not label:
        return ""
    if label.endswith(SANDBOX_SUFFIX):
        mark = _("(sandbox)")
        return f"{label[:-len(SANDBOX_SUFFIX)]} {mark}"
    return label


@dataclass
class SandboxPaymentIntent:
    id: str
    amount: int
    currency: str
    payment_method_ref: str
    idempotency_key: str
    metadata: dict[str, str]
    status: str
    fee: int | None = None
    customer_ref: str | None = None
    refunded: int = 0
    refunds: list[RefundResult] = field(default_factory=list)


class MemorySandboxStore:
    """Sandbox state in this process only: for tests and the benchmark, which count PaymentIntents."""

    def __init__(self):
        self.payment_intents: dict[str, SandboxPaymentIntent] = {}  # by idempotency key
        self.setup_intents: dict[str, SetupIntentInfo] = {}
        self._lock = threading.Lock()

    def create_intent(self, intent: SandboxPaymentIntent) -> SandboxPaymentIntent:
        with self._lock:
            return self.payment_intents.setdefault(intent.idempotency_key, intent)

    def find_intent(self, payment_ref: str) -> SandboxPaymentIntent | None:
        return next((pi for pi in self.payment_intents.values() if pi.id == payment_ref), None)

    def authenticate(self, payment_ref: str, fee: int) -> SandboxPaymentIntent | None:
        with self._lock:
            intent = self.find_intent(payment_ref)
            if intent is not None and intent.status == ChargeStatus.REQUIRES_ACTION:
                intent.status, intent.fee = ChargeStatus.SUCCEEDED, fee
            return intent

    def add_refund(self, payment_ref: str, refund: RefundResult) -> None:
        with self._lock:
            intent = self.find_intent(payment_ref)
            if intent is not None and all(r.refund_ref != refund.refund_ref for r in intent.refunds):
                intent.refunded += refund.amount
                intent.refunds.append(refund)

    def save_setup_intent(self, info: SetupIntentInfo) -> None:
        with self._lock:
            self.setup_intents[info.id] = info

    def find_setup_intent(self, ref: str) -> SetupIntentInfo | None:
        return self.setup_intents.get(ref)

    def all_intents(self) -> dict[str, SandboxPaymentIntent]:
        return self.payment_intents


class DatabaseSandboxStore:
    """Sandbox state in the `funding_sandbox_object` table, so any process or host continues any flow: a
    3-D Secure step confirmed elsewhere, an idempotency key repeated elsewhere, a webhook re-fetching.

    Each call runs in its own short transaction on its own connection (like a call to Stripe, it is not part
    of the caller's unit of work, and is kept when the caller rolls back). Writing calls start with their
    write, so on SQLite they wait for the write lock instead of failing to upgrade a read."""

    def _table(self):
        from funding.models import SandboxObject

        return SandboxObject.__table__

    def _engine(self):
        from portal.extensions import db

        return db.engine

    def _intent(self, row, refunds: list[RefundResult] | None = None) -> SandboxPaymentIntent:
        refunds = refunds or []
        return SandboxPaymentIntent(row.ref, row.amount, row.currency, row.payment_method_ref, row.idempotency_key,
                                    dict((row.data or {}).get("metadata") or {}), row.status, row.fee,
                                    row.customer_ref, sum(r.amount for r in refunds), refunds)

    def _load(self, connection, where) -> SandboxPaymentIntent | None:
        from sqlalchemy import select

        table = self._table()
        row = connection.execute(select(table).where(table.c.kind == "payment_intent", where)).first()
        if row is None:
            return None
        refunds = [RefundResult(r.ref, r.amount) for r in connection.execute(
            select(table.c.ref, table.c.amount).where(table.c.kind == "refund", table.c.parent_ref == row.ref)
            .order_by(table.c.id))]
        return self._intent(row, refunds)

    def _insert(self, values: dict) -> bool:
        """Insert a row in its own transaction; False when its ref or key exists already."""
        from sqlalchemy.exc import IntegrityError

        from portal.db import utcnow

        now = utcnow()
        try:
            with self._engine().begin() as connection:
                connection.execute(self._table().insert().values(
                    {"refunded": 0, "data": {}, "created_at": now, "updated_at": now} | values))
        except IntegrityError:
            return False
        return True

    def create_intent(self, intent: SandboxPaymentIntent) -> SandboxPaymentIntent:
        self._insert({"ref": intent.id, "kind": "payment_intent", "idempotency_key": intent.idempotency_key,
                      "status": intent.status, "amount": intent.amount, "currency": intent.currency,
                      "customer_ref": intent.customer_ref, "payment_method_ref": intent.payment_method_ref,
                      "fee": intent.fee, "data": {"metadata": intent.metadata}})
        table = self._table()
        with self._engine().connect() as connection:
            return self._load(connection, table.c.idempotency_key == intent.idempotency_key)

    def find_intent(self, payment_ref: str) -> SandboxPaymentIntent | None:
        with self._engine().connect() as connection:
            return self._load(connection, self._table().c.ref == payment_ref)

    def authenticate(self, payment_ref: str, fee: int) -> SandboxPaymentIntent | None:
        from portal.db import utcnow

        table = self._table()
        with self._engine().begin() as connection:
            connection.execute(table.update().where(
                table.c.kind == "payment_intent", table.c.ref == payment_ref,
                table.c.status == ChargeStatus.REQUIRES_ACTION).values(
                    status=ChargeStatus.SUCCEEDED, fee=fee, updated_at=utcnow()))
            return self._load(connection, table.c.ref == payment_ref)

    def add_refund(self, payment_ref: str, refund: RefundResult) -> None:
        if self.find_intent(payment_ref) is not None:
            self._insert({"ref": refund.refund_ref, "kind": "refund", "parent_ref": payment_ref,
                          "idempotency_key": None, "status": ChargeStatus.SUCCEEDED, "amount": refund.amount})

    def save_setup_intent(self, info: SetupIntentInfo) -> None:
        from portal.db import utcnow

        table = self._table()
        values = {"status": info.status, "customer_ref": info.customer_ref,
                  "payment_method_ref": info.payment_method_ref}
        if not self._insert({"ref": info.id, "kind": "setup_intent", "idempotency_key": None, **values}):
            with self._engine().begin() as connection:
                connection.execute(table.update().where(table.c.ref == info.id).values(
                    updated_at=utcnow(), **values))

    def find_setup_intent(self, ref: str) -> SetupIntentInfo | None:
        from sqlalchemy import select

        table = self._table()
        with self._engine().connect() as connection:
            row = connection.execute(select(table).where(table.c.kind == "setup_intent", table.c.ref == ref)).first()
        if row is None:
            return None
        return SetupIntentInfo(row.ref, row.ref + "_secret", row.status, row.payment_method_ref, row.customer_ref)

    def all_intents(self) -> dict[str, SandboxPaymentIntent]:
        from sqlalchemy import select

        table = self._table()
        with self._engine().connect() as connection:
            keys = list(connection.scalars(select(table.c.idempotency_key).where(table.c.kind == "payment_intent")
                                           .order_by(table.c.id)))
            return {key: self._load(connection, table.c.idempotency_key == key) for key in keys}


class SandboxProvider:
    """SANDBOX: simulated payments, no money moves. Used when no Stripe keys are configured.

    Its state (SetupIntents, PaymentIntents by idempotency key, 3-D Secure steps, fees, refunds) lives in a
    store: `DatabaseSandboxStore` (what `get_provider()` uses: every process and host shares it) or, by
    default for tests and the benchmark, `MemorySandboxStore` (this process only, easy to count).
    PaymentIntent ids are derived from the idempotency key, as a second guard against double charges.
    `latency` (seconds) simulates the provider's response time; `setup_latency` that of saving a card.
    """

    name = "sandbox"
    label = "SANDBOX (simulated payments, no money moves)"

    def __init__(self, latency: float = 0.0, store: MemorySandboxStore | DatabaseSandboxStore | None = None,
                 setup_latency: float = 0.0):
        self.latency = latency
        self.setup_latency = setup_latency
        self.store = store if store is not None else MemorySandboxStore()
        self.calls = 0
        self._lock = threading.Lock()

    @property
    def in_process(self) -> bool:
        """True with the memory store: no call leaves the process, so callers need not end their transaction."""
        return isinstance(self.store, MemorySandboxStore)

    @property
    def payment_intents(self) -> dict[str, SandboxPaymentIntent]:
        """{idempotency key: PaymentIntent} (tests and the benchmark count them)."""
        return self.store.all_intents()

    def _wait(self, seconds: float | None = None) -> None:
        seconds = self.latency if seconds is None else seconds
        if seconds:
            time.sleep(seconds)

    def ensure_customer(self, email: str, name: str, existing: str | None) -> str:
        return existing or "cus_sandbox_" + hashlib.sha256(email.encode()).hexdigest()[:16]

    def create_setup_intent(self, customer_ref: str) -> SetupIntentInfo:
        self._wait(self.setup_latency)
        ident = "seti_sandbox_" + hashlib.sha256(f"{customer_ref}{time.time_ns()}".encode()).hexdigest()[:16]
        info = SetupIntentInfo(ident, ident + "_secret", "requires_payment_method", customer_ref=customer_ref)
        self.store.save_setup_intent(info)
        return info

    def confirm_setup_intent(self, setup_intent_ref: str, card_number: str) -> SetupIntentInfo:
        """What the browser does with Stripe.js: give the SetupIntent a (test) card; sandbox only."""
        info = self.retrieve_setup_intent(setup_intent_ref)
        number = "".join(ch for ch in card_number if ch.isdigit())
        card = SANDBOX_CARDS.get(number)
        if card is None:
            info.status, info.payment_method_ref = "requires_payment_method", None
        else:
            info.status, info.payment_method_ref = "succeeded", card[0]
        self.store.save_setup_intent(info)
        return info

    def retrieve_setup_intent(self, setup_intent_ref: str) -> SetupIntentInfo:
        info = self.store.find_setup_intent(setup_intent_ref)
        if info is None:
            raise ValidationFailed.field("setup_intent", _("Unknown SetupIntent."))
        return info

    def save_card(self, customer_ref: str, payment_method: str, field: str = "payment_method") -> SavedCard:
        self._wait(self.setup_latency)
        number = "".join(ch for ch in (payment_method or "") if ch.isdigit())
        if number in SANDBOX_SETUP_DECLINED:
            raise ValidationFailed.field(field, _("Your card was declined."))
        by_id = {pm: (pm, label) for pm, label in SANDBOX_CARDS.values()}
        card = SANDBOX_CARDS.get(number) or by_id.get((payment_method or "").strip())
        if card is None:
            raise ValidationFailed.field(field, _(
                "Sandbox payments: use a Stripe test card, 4242424242424242 (succeeds), 4000000000000341 "
                "(declined when charged) or 4000002500003155 (needs authentication)."))
        return SavedCard(customer_ref, card[0], card[1])

    def charge(self, *, amount: int, currency: str, customer_ref: str | None, payment_method_ref: str,
               idempotency_key: str, metadata: dict[str, str], off_session: bool = True) -> ChargeResult:
        self._wait()
        with self._lock:
            self.calls += 1
        if payment_method_ref == "pm_sandbox_charge_declined":
            status, fee = ChargeStatus.FAILED, None
        elif payment_method_ref == "pm_sandbox_authentication_required" and off_session:
            status, fee = ChargeStatus.REQUIRES_ACTION, None
        else:
            status, fee = ChargeStatus.SUCCEEDED, estimated_card_fee(amount)
        # The first intent made with a key wins, in whatever process made it (Stripe's idempotency).
        intent = self.store.create_intent(SandboxPaymentIntent(
            "pi_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24], amount, currency,
            payment_method_ref, idempotency_key, dict(metadata), status, fee, customer_ref))
        return self._result(intent)

    def _result(self, intent: SandboxPaymentIntent) -> ChargeResult:
        if intent.status == ChargeStatus.FAILED:
            return ChargeResult(ChargeStatus.FAILED, intent.id, error_code="card_declined",
                                error_message="Your card was declined. (sandbox)")
        if intent.status == ChargeStatus.REQUIRES_ACTION:
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, intent.id, error_code="authentication_required",
                                error_message="The bank asks the card holder to authenticate. (sandbox)",
                                client_secret=intent.id + "_secret")
        fee = intent.fee if intent.fee is not None else estimated_card_fee(intent.amount)
        return ChargeResult(ChargeStatus.SUCCEEDED, intent.id, fee=fee)

    def retrieve_payment(self, payment_ref: str) -> ChargeResult:
        intent = self.store.find_intent(payment_ref)
        if intent is None:
            raise ProviderUnavailable(f"unknown sandbox PaymentIntent {payment_ref}")
        return self._result(intent)

    def complete_authentication(self, payment_ref: str) -> ChargeResult:
        """The backer finished 3-D Secure on-session: the same PaymentIntent succeeds (no new charge)."""
        self._wait()
        probe = self.store.find_intent(payment_ref)
        intent = self.store.authenticate(payment_ref, estimated_card_fee(probe.amount)) if probe else None
        if intent is None:
            # Not in this store (a memory store of another process): ids are derived from keys, so trust
            # the reference; the fee is unknown.
            return ChargeResult(ChargeStatus.SUCCEEDED, payment_ref, fee=None)
        return self._result(intent)

    def refund(self, *, payment_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        self._wait()
        result = RefundResult("re_sandbox_" + hashlib.sha256(idempotency_key.encode()).hexdigest()[:24], amount)
        self.store.add_refund(payment_ref, result)
        return result


# ---- Stripe ----------------------------------------------------------------------------------

def _f(obj, name: str):
    """A field of a Stripe object (stripe-python 16 objects are not dicts), None when absent."""
    if obj is None:
        return None
    if isinstance(obj, dict):
        return obj.get(name)
    return getattr(obj, name, None)


class StripeProvider:
    """The real adapter on `stripe.StripeClient`. `api_base` points it at a local server in tests."""

    name = "stripe"
    label = "Stripe"
    in_process = False

    def __init__(self, secret_key: str, api_base: str | None = None, max_network_retries: int = 2):
        import stripe

        kwargs: dict[str, Any] = {"max_network_retries": max_network_retries}
        if api_base:
            kwargs["base_addresses"] = {"api": api_base}
        self.stripe = stripe
        self.client = stripe.StripeClient(secret_key, **kwargs)

    def ensure_customer(self, email: str, name: str, existing: str | None) -> str:
        if existing:
            return existing
        try:
            customer = self.client.v1.customers.create(params={"email": email, "name": name})
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return customer.id

    def create_setup_intent(self, customer_ref: str) -> SetupIntentInfo:
        try:
            intent = self.client.v1.setup_intents.create(params={
                "customer": customer_ref, "usage": "off_session", "payment_method_types": ["card"]})
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return SetupIntentInfo(intent.id, intent.client_secret, intent.status, _f(intent, "payment_method"),
                               customer_ref)

    def retrieve_setup_intent(self, setup_intent_ref: str) -> SetupIntentInfo:
        try:
            intent = self.client.v1.setup_intents.retrieve(setup_intent_ref)
        except self.stripe.InvalidRequestError:
            raise ValidationFailed.field("setup_intent", _("Unknown SetupIntent.")) from None
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return SetupIntentInfo(intent.id, intent.client_secret, intent.status, _f(intent, "payment_method"),
                               _f(intent, "customer"))

    def save_card(self, customer_ref: str, payment_method: str, field: str = "payment_method") -> SavedCard:
        """Keep a PaymentMethod (from a completed SetupIntent) on the backer's customer for off-session use."""
        ref = (payment_method or "").strip()
        if not ref.startswith("pm_"):
            raise ValidationFailed.field(field, _("Give the PaymentMethod id of a completed SetupIntent (pm_...)."))
        try:
            method = self.client.v1.payment_methods.retrieve(ref)
            owner = _f(method, "customer")
            if owner and owner != customer_ref:
                raise ValidationFailed.field(field, _("This card belongs to another customer."))
            if not owner:
                method = self.client.v1.payment_methods.attach(ref, params={"customer": customer_ref})
        except self.stripe.CardError as error:
            raise ValidationFailed.field(field, error.user_message or _("Your card was declined.")) from None
        except self.stripe.InvalidRequestError:
            raise ValidationFailed.field(field, _("Unknown payment method.")) from None
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        card = _f(method, "card")
        label = f"{str(_f(card, 'brand') or 'card').title()} •••• {_f(card, 'last4') or '????'}"
        return SavedCard(customer_ref, method.id, label)

    def _fee(self, intent) -> int | None:
        charge_ref = _f(intent, "latest_charge")
        if not charge_ref:
            return None
        try:
            charge_id = charge_ref if isinstance(charge_ref, str) else charge_ref.id
            charge = self.client.v1.charges.retrieve(charge_id, params={"expand": ["balance_transaction"]})
            transaction = _f(charge, "balance_transaction")
            if transaction is not None and not isinstance(transaction, str):
                return int(_f(transaction, "fee") or 0)
        except self.stripe.StripeError:
            return None
        return None

    def _intent_result(self, intent) -> ChargeResult:
        status = intent.status
        if status == "succeeded":
            return ChargeResult(ChargeStatus.SUCCEEDED, intent.id, fee=self._fee(intent))
        if status == "requires_action":
            return ChargeResult(ChargeStatus.REQUIRES_ACTION, intent.id, error_code="authentication_required",
                                error_message="The bank asks the card holder to authenticate.",
                                client_secret=intent.client_secret)
        if status in ("processing", "requires_capture", "requires_confirmation"):
            return ChargeResult(ChargeStatus.PROCESSING, intent.id)
        error = _f(intent, "last_payment_error")
        return ChargeResult(ChargeStatus.FAILED, intent.id, error_code=_f(error, "code") or status,
                            error_message=_f(error, "message") or status)

    def charge(self, *, amount: int, currency: str, customer_ref: str | None, payment_method_ref: str,
               idempotency_key: str, metadata: dict[str, str], off_session: bool = True) -> ChargeResult:
        params: dict[str, Any] = {"amount": amount, "currency": currency.lower(), "payment_method": payment_method_ref,
                                  "confirm": True, "metadata": metadata}
        if customer_ref:
            params["customer"] = customer_ref
        if off_session:
            params["off_session"] = True
        try:
            intent = self.client.v1.payment_intents.create(params=params,
                                                           options={"idempotency_key": idempotency_key})
        except self.stripe.CardError as error:
            detail = error.error
            intent = getattr(detail, "payment_intent", None) if detail is not None else None
            code = (getattr(detail, "code", None) if detail is not None else None) or error.code
            payment_ref = _f(intent, "id") if intent is not None else None
            if code == "authentication_required":
                return ChargeResult(ChargeStatus.REQUIRES_ACTION, payment_ref, error_code=code,
                                    error_message=error.user_message,
                                    client_secret=_f(intent, "client_secret") if intent is not None else None)
            return ChargeResult(ChargeStatus.FAILED, payment_ref, error_code=code or "card_error",
                                error_message=error.user_message or str(error))
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return self._intent_result(intent)

    def retrieve_payment(self, payment_ref: str) -> ChargeResult:
        try:
            intent = self.client.v1.payment_intents.retrieve(payment_ref)
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return self._intent_result(intent)

    def complete_authentication(self, payment_ref: str) -> ChargeResult:
        """Stripe.js confirmed the PaymentIntent in the browser; read back where it stands."""
        return self.retrieve_payment(payment_ref)

    def refund(self, *, payment_ref: str, amount: int, idempotency_key: str) -> RefundResult:
        try:
            refund = self.client.v1.refunds.create(params={"payment_intent": payment_ref, "amount": amount},
                                                   options={"idempotency_key": idempotency_key})
        except self.stripe.InvalidRequestError as error:
            raise ValidationFailed.field("amount", error.user_message or str(error)) from None
        except self.stripe.StripeError as error:
            raise ProviderUnavailable(str(error)) from error
        return RefundResult(refund.id, int(refund.amount))


def get_provider() -> PaymentProvider:
    provider = current_app.extensions.get("funding_provider")
    if provider is None:
        config = current_app.config
        if config.get("STRIPE_SECRET_KEY"):
            provider = StripeProvider(config["STRIPE_SECRET_KEY"], config.get("STRIPE_API_BASE"))
        else:
            provider = SandboxProvider(store=DatabaseSandboxStore())
        current_app.extensions["funding_provider"] = provider
    return provider


def construct_event(payload: bytes, signature: str | None) -> dict:
    """Verify a webhook on the raw body (HMAC-SHA256 of "t.payload", 300 s tolerance); raise ValueError."""
    import stripe

    secret = current_app.config.get("STRIPE_WEBHOOK_SECRET")
    if not secret:
        raise ValueError("STRIPE_WEBHOOK_SECRET is not configured")
    if not signature:
        raise ValueError("missing Stripe-Signature header")
    try:
        stripe.WebhookSignature.verify_header(payload.decode("utf-8", "replace"), signature, secret, tolerance=300)
    except stripe.SignatureVerificationError as error:
        raise ValueError(f"bad signature: {error.user_message or error}") from None
    try:
        event = json.loads(payload)
    except ValueError as error:  # not JSON
        raise ValueError(f"bad payload: {error}") from None
    if not isinstance(event, dict):  # signed, but a JSON array or scalar is no event
        raise ValueError("bad payload: an event is a JSON object")
    return event
