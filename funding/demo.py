"""Demo data of funding: a live all-or-nothing campaign for AirCare's ventilator, about 40% funded, and a
settled keep-it-all campaign for GreenBrew's composter with a public ledger."""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta

from flask import current_app
from sqlalchemy import select

from funding import community, matchfunding, services
from funding.models import FundingModel
from funding.schemas import MoneyIn, NewCampaign, NewMatchFund, NewPledge, NewReward, NewStretchGoal
from portal.auth.models import Role, User, UserRole
from portal.db import utcnow
from portal.demo import DemoContext, demo_seeder
from portal.extensions import db

# Extra backers so the campaign has a believable crowd: key, email, name, locale
CROWD = [
    ("crowd_zhao", "zhao.lei@demo.example.com", "赵磊 Zhao Lei", "zh_CN"),
    ("crowd_sophie", "sophie@demo.example.com", "Sophie Martin", "en"),
    ("crowd_sun", "sun.yue@demo.example.com", "孙悦 Sun Yue", "zh_CN"),
    ("crowd_zhou", "zhou.jie@demo.example.com", "周杰 Zhou Jie", "zh_CN"),
    ("crowd_wang", "wang.fang@demo.example.com", "王芳 Wang Fang", "zh_CN"),
    ("crowd_lucas", "lucas@demo.example.com", "Lucas Chen 陈卢卡", "en"),
    ("crowd_he", "he.jing@demo.example.com", "何静 He Jing", "zh_CN"),
]


@contextmanager
def in_process_sandbox() -> Iterator[None]:
    """Demo pledges save their test cards with the in-process sandbox: no call leaves the process, so the
    whole demo stays in the caller's transaction (`seed_demo`: the caller commits), whatever provider the
    portal is configured with."""
    from funding.payments import SandboxProvider

    extensions = current_app.extensions
    previous = extensions.get("funding_provider")
    extensions["funding_provider"] = SandboxProvider()
    try:
        yield
    finally:
        if previous is None:
            extensions.pop("funding_provider", None)
        else:
            extensions["funding_provider"] = previous


@demo_seeder(40)
def seed_funding(context: DemoContext, progress) -> None:
    with in_process_sandbox():
        _seed_funding(context, progress)


@demo_seeder(41)
def seed_settled_campaign(context: DemoContext, progress) -> None:
    with in_process_sandbox():
        _seed_settled_campaign(context, progress)


def _seed_funding(context: DemoContext, progress) -> None:
    progress("crowdfunding campaign")
    users = dict(context.users)
    for key, email, name, locale in CROWD:
        user = User(email=email, name=name, password_hash=users["backer"].password_hash, locale=locale,
                    confirmed_at=utcnow())
        user.role_rows = [UserRole(role=Role.BACKER)]
        db.session.add(user)
        users[key] = user
    db.session.flush()

    project = context.extra["projects"]["aircare"]
    campaign = services.create_campaign(project, NewCampaign(
        project_id=project.id, title="静音智能新风机首发 Quiet Smart Ventilator: first production run",
        story="我们在海尔卡奥斯共享产线完成了 EVT 样机，首批 1,000 台需要众筹开模。"
              "We finished EVT prototypes on Haier COSMOPlat's shared line; the first 1,000 units need tooling money.\n"
              "所有档位含一年滤网。Every tier includes a year of filters.",
        goal=MoneyIn(amount=300000_00, currency="CNY"), deadline=utcnow() + timedelta(days=25),
        funding_model=FundingModel.ALL_OR_NOTHING))
    delivery = date.today() + timedelta(days=150)
    early = services.add_reward(campaign, NewReward(
        title="早鸟价 Early bird", amount=1299_00, quantity=200,
        description="一台新风机，限量 200 台。One ventilator, limited to 200 units.", estimated_delivery=delivery))
    standard = services.add_reward(campaign, NewReward(
        title="标准版 Standard", amount=1599_00,
        description="一台新风机 + 一年滤网。One ventilator plus a year of filters.", estimated_delivery=delivery))
    reseller = services.add_reward(campaign, NewReward(
        title="经销商套装 Reseller pack (20 units)", amount=25999_00,
        description="20 台，含陈列样机与培训。20 units with a display unit and training.",
        estimated_delivery=delivery + timedelta(days=30)))
    services.submit_campaign(campaign)
    services.approve_campaign(campaign)

    # key, reward, amount (minor units): 119,792 CNY of 300,000 CNY, about 40%
    for key, reward, amount in [
        ("backer", reseller, 25999_00), ("founder2", early, 1299_00), ("crowd_zhao", reseller, 25999_00),
        ("crowd_sophie", reseller, 25999_00), ("crowd_sun", reseller, 25999_00), ("crowd_zhou", standard, 1599_00),
        ("crowd_wang", None, 10000_00), ("crowd_lucas", early, 1299_00), ("crowd_he", standard, 1599_00),
    ]:
        services.place_pledge(campaign, users[key], NewPledge(
            amount=amount, reward_id=reward.id if reward else None, payment_method="4242424242424242"))
    cancelled = services.place_pledge(campaign, users["crowd_lucas"], NewPledge(
        amount=1599_00, reward_id=standard.id, payment_method="4242424242424242"))
    services.cancel_pledge(cancelled)  # cancelled pledges do not count toward the total

    context.extra["campaign"] = campaign


def _seed_settled_campaign(context: DemoContext, progress) -> None:
    """GreenBrew's composter: a keep-it-all campaign that ended two days ago, was settled in the sandbox,
    matched by Haier, with one declined card still being followed up and one partial refund."""
    from funding import ledger, settlement
    from funding.models import (
        AttemptStatus,
        CampaignStatus,
        LedgerKind,
        PaymentAttempt,
        Pledge,
    )
    from funding.payments import SandboxProvider
    from portal.auth.services import get_user_by_email

    progress("settled campaign with a public ledger")
    # Campaigns are for crowdfunding-mode projects: GreenBrew's consumer edition is one (its open-source
    # composter standard is under blind review in the open-source track).
    from incubation import services as incubation_services
    from incubation.models import IncubationMode, ProjectStage
    from incubation.schemas.projects import ProjectDraft

    greenbrew = context.extra["projects"]["greenbrew"]
    founder2 = context.users["founder2"]
    project = incubation_services.create_project(greenbrew.organisation, founder2, ProjectDraft(
        title="GreenBrew Home Composter 家用堆肥机",
        summary="The 24-hour composter for city kitchens, made for consumers. 城市厨房的 24 小时堆肥机。",
        industry=greenbrew.industry, stage=ProjectStage.MVP, mode=IncubationMode.CROWDFUNDING))
    incubation_services.submit_project(project, founder2)
    campaign = services.create_campaign(project, NewCampaign(
        project_id=project.id, title="GreenBrew 24h Composter: first batch 厨余堆肥机首批",
        story="Turn kitchen scraps into compost in 24 hours. 24 小时把厨余变成肥料。\n"
              "Thank you, backers: the first batch is in production at the Shunde makerspace.",
        goal=MoneyIn(amount=80000_00, currency="CNY"), deadline=utcnow() + timedelta(days=30),
        funding_model=FundingModel.KEEP_IT_ALL))
    unit = services.add_reward(campaign, NewReward(
        title="Composter 堆肥机", amount=2499_00, quantity=100,
        description="One composter with a starter pack. 一台堆肥机与入门包。",
        estimated_delivery=date.today() + timedelta(days=90),
        shipping_fees={"CN": 0, "ASIA": 150_00, "WORLD": 400_00}, variants=["sage 鼠尾草绿", "graphite 石墨灰"]))
    community.add_stretch_goal(campaign, NewStretchGoal(amount=120000_00, title="Odour filter upgrade 除味滤芯升级"))
    services.submit_campaign(campaign)
    services.approve_campaign(campaign)
    haier = context.organisations["haier"]
    matchfunding.add_match_fund(campaign, haier, NewMatchFund(organisation_id=haier.id, cap=20000_00))
    emails = [email for _key, email, _name, _locale in CROWD] + ["backer@demo.example.com",
                                                                 "founder@demo.example.com"]
    backers = [get_user_by_email(email) for email in emails]
    cards = ["4242424242424242"] * 8 + ["4000000000000341"]
    for index, (backer, number) in enumerate(zip(backers, cards, strict=False)):
        region = "CN" if index % 3 else "ASIA"
        services.place_pledge(campaign, backer, NewPledge(amount=2499_00 + (index % 3) * 500_00, reward_id=unit.id,
                                                          payment_method=number, shipping_region=region))
    # The deadline passed two days ago; settle in the sandbox within this transaction.
    campaign.deadline = utcnow() - timedelta(days=2)
    campaign.closed_at = campaign.deadline
    campaign.status = CampaignStatus.SUCCESSFUL
    provider = SandboxProvider()
    pledges = db.session.scalars(select(Pledge).where(Pledge.campaign_id == campaign.id).order_by(Pledge.id)).all()
    for pledge in pledges:
        ledger.append(campaign, LedgerKind.PLEDGED, pledge.amount + pledge.shipping_fee, f"pledge:{pledge.id}",
                      pledge=pledge)
        attempt = PaymentAttempt(pledge_id=pledge.id, number=1, idempotency_key=f"pledge-{pledge.id}-attempt-1",
                                 amount=pledge.amount + pledge.shipping_fee, currency=campaign.currency,
                                 status=AttemptStatus.PENDING, customer_ref=pledge.customer_ref,
                                 payment_method_ref=pledge.payment_method_ref)
        db.session.add(attempt)
        db.session.flush()
        result = provider.charge(amount=attempt.amount, currency=attempt.currency, customer_ref=attempt.customer_ref,
                                 payment_method_ref=attempt.payment_method_ref,
                                 idempotency_key=attempt.idempotency_key,
                                 metadata={"pledge_id": str(pledge.id), "attempt_id": str(attempt.id)})
        settlement.record_charge(attempt, pledge, result, final=False)
    collected = [p for p in pledges if p.payment_ref]
    refund = provider.refund(payment_ref=collected[0].payment_ref, amount=500_00,
                             idempotency_key=f"pledge-{collected[0].id}-refund-after-0")
    ledger.record_refund(collected[0], refund.refund_ref, refund.amount)
    ledger.record_matchfunding(campaign)
    context.extra["settled_campaign"] = campaign
