"""Demo data of funding: a live all-or-nothing campaign for AirCare's ventilator, about 40% funded."""

from datetime import date, timedelta

from funding import services
from funding.models import FundingModel
from portal.auth.models import Role, User, UserRole
from portal.db import utcnow
from portal.demo import DemoContext, demo_seeder
from portal.extensions import db

# Extra backers so the campaign has a believable crowd: key, email, name, locale
CROWD = [
    ("crowd_zhao", "zhao.lei@demo.haichuang.test", "赵磊 Zhao Lei", "zh_CN"),
    ("crowd_sophie", "sophie@demo.haichuang.test", "Sophie Martin", "en"),
    ("crowd_sun", "sun.yue@demo.haichuang.test", "孙悦 Sun Yue", "zh_CN"),
    ("crowd_zhou", "zhou.jie@demo.haichuang.test", "周杰 Zhou Jie", "zh_CN"),
    ("crowd_wang", "wang.fang@demo.haichuang.test", "王芳 Wang Fang", "zh_CN"),
    ("crowd_lucas", "lucas@demo.haichuang.test", "Lucas Chen 陈卢卡", "en"),
    ("crowd_he", "he.jing@demo.haichuang.test", "何静 He Jing", "zh_CN"),
]


@demo_seeder(40)
def seed_funding(context: DemoContext, progress) -> None:
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
    campaign = services.create_campaign(
        project, title="静音智能新风机首发 Quiet Smart Ventilator: first production run",
        story="我们在海尔卡奥斯共享产线完成了 EVT 样机，首批 1,000 台需要众筹开模。"
              "We finished EVT prototypes on Haier COSMOPlat's shared line; the first 1,000 units need tooling money.\n"
              "所有档位含一年滤网。Every tier includes a year of filters.",
        goal_amount=300000_00, currency="CNY", deadline=utcnow() + timedelta(days=25),
        funding_model=FundingModel.ALL_OR_NOTHING)
    delivery = date.today() + timedelta(days=150)
    early = services.add_reward(campaign, title="早鸟价 Early bird", amount=1299_00, quantity=200,
                                description="一台新风机，限量 200 台。One ventilator, limited to 200 units.",
                                estimated_delivery=delivery)
    standard = services.add_reward(campaign, title="标准版 Standard", amount=1599_00,
                                   description="一台新风机 + 一年滤网。One ventilator plus a year of filters.",
                                   estimated_delivery=delivery)
    reseller = services.add_reward(campaign, title="经销商套装 Reseller pack (20 units)", amount=25999_00,
                                   description="20 台，含陈列样机与培训。20 units with a display unit and training.",
                                   estimated_delivery=delivery + timedelta(days=30))
    services.submit_campaign(campaign)
    services.approve_campaign(campaign)

    # key, reward, amount (minor units): 119,792 CNY of 300,000 CNY, about 40%
    for key, reward, amount in [
        ("backer", reseller, 25999_00), ("founder2", early, 1299_00), ("crowd_zhao", reseller, 25999_00),
        ("crowd_sophie", reseller, 25999_00), ("crowd_sun", reseller, 25999_00), ("crowd_zhou", standard, 1599_00),
        ("crowd_wang", None, 10000_00), ("crowd_lucas", early, 1299_00), ("crowd_he", standard, 1599_00),
    ]:
        services.place_pledge(campaign, users[key], amount, reward)
    cancelled = services.place_pledge(campaign, users["crowd_lucas"], 1599_00, standard)
    services.cancel_pledge(cancelled)  # cancelled pledges do not count toward the total

    context.extra["campaign"] = campaign
