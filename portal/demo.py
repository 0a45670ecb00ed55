"""Believable bilingual demo data for the quickstart and for trying the portal out.

The core creates people and organisations; each domain package adds its own part through
`@demo_seeder` (labs and equipment, projects and a program, a live campaign...), receiving the
`DemoContext` with everything created before it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from portal.auth.models import Role, User, UserRole
from portal.auth.services import hash_password
from portal.db import utcnow
from portal.extensions import db
from portal.organisations.models import MemberRole, Membership, Organisation

DEMO_PASSWORD = "demo-password-2026"


@dataclass
class DemoContext:
    users: dict[str, User] = field(default_factory=dict)
    organisations: dict[str, Organisation] = field(default_factory=dict)
    extra: dict = field(default_factory=dict)


Seeder = Callable[[DemoContext, Callable[[str], None]], None]
_SEEDERS: list[tuple[int, Seeder]] = []


def demo_seeder(order: int = 50) -> Callable[[Seeder], Seeder]:
    def register(func: Seeder) -> Seeder:
        _SEEDERS.append((order, func))
        return func

    return register


@demo_seeder(order=90)
def seed_images(context: DemoContext, progress: Callable[[str], None]) -> None:
    """After every other seeder: generated logos, avatars, covers, a campaign gallery and lab photos
    (portal.images), stored through the file storage with their thumbnails."""
    from portal.images import seed_demo_images

    seed_demo_images(progress)


# key, email, name, roles, locale
PEOPLE = [
    ("admin", "admin@demo.example.com", "平台管理员 Platform Admin", [Role.ADMIN], "zh_CN"),
    ("haier_staff", "lab-manager@demo.example.com", "王静 Wang Jing", [Role.COMPANY], "zh_CN"),
    ("midea_staff", "makerspace@demo.example.com", "Li Na 李娜", [Role.COMPANY], "en"),
    ("founder", "founder@demo.example.com", "陈晨 Chen Chen", [Role.FOUNDER, Role.BACKER], "zh_CN"),
    ("founder2", "maria@demo.example.com", "Maria Rossi", [Role.FOUNDER], "en"),
    ("mentor", "mentor@demo.example.com", "张伟 Zhang Wei", [Role.MENTOR], "zh_CN"),
    ("mentor2", "anna@demo.example.com", "Anna Schmidt", [Role.MENTOR], "en"),
    ("backer", "backer@demo.example.com", "刘洋 Liu Yang", [Role.BACKER], "zh_CN"),
]

# key, name, kind, city, description, owner key, member keys
ORGANISATIONS = [
    ("haier", "海尔卡奥斯共享制造中心 Haier COSMOPlat Shared Manufacturing", "company", "青岛 Qingdao",
     "开放实验室、模具车间与小批量产线。Open labs, a tooling workshop and low-volume production lines "
     "for incubated startups.", "haier_staff", []),
    ("midea", "Shunde Smart Home Makerspace 顺德智能家居创客空间", "company", "佛山 Foshan",
     "Electronics prototyping, EMC pre-compliance and industrial design studio. 电子样机、EMC 预测试与工业设计工作室。",
     "midea_staff", []),
    ("aircare", "净风科技 AirCare Tech", "startup", "青岛 Qingdao",
     "为小户型做安静的智能新风机。Quiet smart ventilation for small apartments.", "founder", ["mentor"]),
    ("greenbrew", "GreenBrew Labs 绿酿实验室", "startup", "上海 Shanghai",
     "Countertop appliance that turns kitchen scraps into compost in 24 hours. 24 小时厨余堆肥机。", "founder2", []),
]


def seed_demo(progress: Callable[[str], None] = lambda label: None) -> dict:
    """Create the demo data in the current transaction (the caller commits)."""
    context = DemoContext()
    password_hash = hash_password(DEMO_PASSWORD)
    progress("people")
    for key, email, name, roles, locale in PEOPLE:
        user = User(email=email, name=name, password_hash=password_hash, locale=locale, confirmed_at=utcnow())
        user.role_rows = [UserRole(role=r) for r in roles]
        db.session.add(user)
        context.users[key] = user
    db.session.flush()
    progress("organisations")
    for key, name, kind, city, description, owner, members in ORGANISATIONS:
        organisation = Organisation(name=name, kind=kind, city=city, description=description,
                                    verified_at=utcnow() if kind == "company" else None)
        organisation.memberships.append(Membership(user_id=context.users[owner].id, role=MemberRole.OWNER))
        for member in members:
            organisation.memberships.append(Membership(user_id=context.users[member].id, role=MemberRole.MEMBER))
        db.session.add(organisation)
        context.organisations[key] = organisation
    db.session.flush()
    from portal import audit

    audit.record("demo.seeded", after={"users": len(PEOPLE), "organisations": len(ORGANISATIONS)})
    for _order, seeder in sorted(_SEEDERS, key=lambda item: item[0]):
        seeder(context, progress)
        db.session.flush()
    return {
        "password": DEMO_PASSWORD,
        "accounts": [(", ".join(roles), email) for _key, email, _name, roles, _locale in PEOPLE],
    }
