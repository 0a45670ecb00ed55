"""Demo labs and equipment of the two anchor companies (bilingual, with believable specs and prices)."""

from __future__ import annotations

from datetime import time, timedelta

from portal.db import utcnow
from portal.demo import DemoContext, demo_seeder
from portal.extensions import db
from resources import services
from resources.schemas import NewResource

WEEKDAYS = [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]
SATURDAY_MORNING = [{"weekday": 5, "start": "09:00", "end": "13:00"}]
SATURDAY = [{"weekday": 5, "start": "10:00", "end": "16:00"}]

HAIER_ADDRESS = "青岛市崂山区海尔路1号 海尔工业园 / Haier Industrial Park, 1 Haier Road, Laoshan, Qingdao"
MIDEA_ADDRESS = "佛山市顺德区北滘镇 顺德创客空间 / Shunde Makerspace, Beijiao, Shunde, Foshan"

HAIER_TERMS = (
    "上传的图纸、三维模型和工艺文件仅用于本次加工，严格保密，项目完成 90 天后删除；海尔卡奥斯不对其主张任何知识产权。"
    "首次预约前须签署双向保密协议（NDA）。\n"
    "Drawings, 3D models and process files you upload are used only for your job, kept confidential and "
    "deleted 90 days after completion; Haier COSMOPlat claims no rights in your intellectual property. "
    "A mutual NDA is signed before the first booking."
)
MIDEA_TERMS = (
    "测试数据与样机归预约方所有，未经书面同意不得向第三方披露；上传的原理图与 PCB 文件仅供本次测试使用。\n"
    "Test data and prototypes belong to the booker and are not disclosed to third parties without written "
    "consent; schematics and PCB files you upload are used only for the booked session and are covered by "
    "the makerspace NDA."
)


def _prices(hour: tuple[int, int, int] | None = None, use: tuple[int, int, int] | None = None) -> list[dict]:
    """Prices in fen for incubatees, other startups and external customers (cheapest to dearest)."""
    rows = []
    for unit, amounts in (("hour", hour), ("use", use)):
        if amounts:
            for audience, amount in zip(("incubatee", "startup", "external"), amounts, strict=True):
                rows.append({"audience": audience, "unit": unit, "amount": amount, "currency": "CNY"})
    return rows


HAIER_RESOURCES = [
    {
        "name": "3D 打印实验室 Additive Manufacturing Lab", "kind": "lab", "capacity": 4,
        "description": "金属与高分子增材制造，从功能样件到小批量零件。Metal and polymer additive manufacturing, "
                       "from functional prototypes to small batches, with post-processing on site.",
        "specifications": {
            "设备 Printers": "EOS M 290 (metal SLM), Stratasys F900 (FDM), Formlabs Form 3L (SLA)",
            "成型尺寸 Build volume": "250 × 250 × 325 mm (M 290); 914 × 610 × 914 mm (F900)",
            "材料 Materials": "AlSi10Mg, 316L, PA12, ULTEM 9085, engineering resins",
            "层厚 Layer thickness": "20–100 µm",
            "后处理 Post-processing": "支撑去除、喷砂、热处理 support removal, sandblasting, heat treatment",
        },
        "prices": _prices(hour=(8000, 15000, 30000)),
        "min_minutes": 60, "max_minutes": 480, "buffer_minutes": 30, "advance_days": 60,
        "opening_hours": WEEKDAYS + SATURDAY_MORNING,
    },
    {
        "name": "五轴加工中心 5-axis CNC machining centre DMG MORI", "kind": "equipment",
        "requires_qualification": True,
        "description": "五轴联动铣削，适合铝合金结构件与模具镶件。Simultaneous 5-axis milling for aluminium housings, "
                       "brackets and mould inserts. Only operators qualified by our staff may book.",
        "specifications": {
            "型号 Model": "DMG MORI DMU 50 3rd Generation",
            "行程 Travel X/Y/Z": "650 / 520 / 475 mm",
            "主轴 Spindle": "20,000 rpm, 35 kW",
            "数控系统 Control": "Siemens SINUMERIK ONE",
            "工作台承重 Table load": "300 kg",
            "定位精度 Positioning accuracy": "≤ 8 µm",
        },
        "prices": _prices(hour=(18000, 28000, 48000), use=(20000, 30000, 50000)),
        "min_minutes": 120, "max_minutes": 600, "buffer_minutes": 60, "advance_days": 45,
        "opening_hours": [{"weekday": d, "start": "08:30", "end": "17:30"} for d in range(5)],
    },
    {
        "name": "注塑小批量产线 Injection moulding pilot line", "kind": "production_line",
        "requires_approval": True,
        "description": "从试模到 5000 件的小批量注塑，含快速换模。Pilot runs from first shots to 5,000 parts, "
                       "with quick mould change. Our process engineers confirm each booking.",
        "specifications": {
            "注塑机 Machines": "2 × Haitian MA1600 (160 t), 1 × ENGEL e-mac 100 t",
            "射胶量 Shot weight": "up to 280 g (PP)",
            "机械手 Robots": "Yushin sprue pickers",
            "典型批量 Typical batch": "500–5,000 parts",
            "换模 Mould change": "SMED, about 45 min",
        },
        "prices": _prices(hour=(45000, 70000, 120000), use=(80000, 120000, 200000)),
        "min_minutes": 240, "max_minutes": 720, "buffer_minutes": 60, "advance_days": 90,
        "opening_hours": [{"weekday": d, "start": "08:00", "end": "20:00"} for d in range(6)],
    },
]

MIDEA_RESOURCES = [
    {
        "name": "EMC 预测试实验室 EMC pre-compliance lab", "kind": "lab", "requires_approval": True,
        "description": "送认证前先摸底：传导、辐射与抗扰度预测试。Find EMC problems before certification: "
                       "conducted and radiated emissions and immunity pre-tests with an engineer on hand.",
        "specifications": {
            "暗室 Chamber": "3 m semi-anechoic chamber (pre-compliance)",
            "接收机 Receiver": "Rohde & Schwarz ESR7, 9 kHz–7 GHz",
            "传导 Conducted": "LISN R&S ENV216, 150 kHz–30 MHz",
            "抗扰度 Immunity": "ESD up to ±30 kV, EFT/surge generator",
            "标准 Standards": "CISPR 14-1, CISPR 32, GB 4343.1, IEC 61000-4-2/4/5",
        },
        "prices": _prices(hour=(20000, 35000, 60000)),
        "min_minutes": 60, "max_minutes": 480, "buffer_minutes": 30, "advance_days": 60,
        "opening_hours": WEEKDAYS,
    },
    {
        "name": "工业设计工作室 Industrial design studio", "kind": "workshop", "capacity": 8,
        "description": "草图到外观模型：工作站、模型间与三维扫描。From sketches to appearance models: "
                       "workstations, a model shop and 3D scanning.",
        "specifications": {
            "工作站 Workstations": "8 × Wacom Cintiq Pro 24, Rhino 8, KeyShot, SolidWorks",
            "模型间 Model shop": "泡沫切割、喷漆房、打磨 foam cutting, spray booth, sanding",
            "三维扫描 Scanner": "Shining3D EinScan Pro HD",
            "评审室 Review room": "75-inch display, seats 10",
        },
        "prices": _prices(hour=(3000, 6000, 12000)),
        "min_minutes": 60, "max_minutes": 600, "buffer_minutes": 0, "advance_days": 30,
        "opening_hours": WEEKDAYS + SATURDAY,
    },
    {
        "name": "激光切割机 Laser cutter Trotec Speedy 400", "kind": "equipment",
        "description": "亚克力、木材、皮革切割与金属打标。Cutting acrylic, wood and leather, marking anodised "
                       "aluminium. No PVC.",
        "specifications": {
            "型号 Model": "Trotec Speedy 400 flexx (CO₂ 120 W + fibre 30 W)",
            "幅面 Work area": "1000 × 610 mm",
            "最大工件高度 Max. height": "305 mm",
            "材料 Materials": "acrylic, plywood, MDF, paper, leather; marking on anodised aluminium",
        },
        "prices": _prices(hour=(5000, 9000, 18000)),
        "min_minutes": 30, "max_minutes": 240, "buffer_minutes": 15, "advance_days": 30,
        "opening_hours": WEEKDAYS + SATURDAY,
    },
]


@demo_seeder(order=20)
def seed_resources(context: DemoContext, progress) -> None:
    progress("labs and equipment")
    created = []
    for org_key, staff_key, city, address, terms, items in (
        ("haier", "haier_staff", "青岛 Qingdao", HAIER_ADDRESS, HAIER_TERMS, HAIER_RESOURCES),
        ("midea", "midea_staff", "佛山 Foshan", MIDEA_ADDRESS, MIDEA_TERMS, MIDEA_RESOURCES),
    ):
        for item in items:
            organisation = context.organisations[org_key]
            cmd = NewResource.model_validate({"organisation_id": organisation.id, "city": city, "address": address,
                                              "timezone": "Asia/Shanghai", "terms_text": terms, **item})
            created.append(services.create_resource(organisation, cmd, context.users[staff_key]))
    context.extra["resources"] = {resource.name: resource for resource in created}


def _at(day, clock: str):
    from zoneinfo import ZoneInfo

    from resources.availability import local_to_utc

    hour, minute = (int(x) for x in clock.split(":"))
    return local_to_utc(day, time(hour, minute), ZoneInfo("Asia/Shanghai"))


def _weekdays(start, count: int, step: int = 1) -> list:
    days, day = [], start
    while len(days) < count:
        if day.weekday() < 5:
            days.append(day)
        day += timedelta(days=step)
    return days


def _booking(resource, user, organisation, day, start: str, end: str, status: str, purpose: str):
    from resources import bookings
    from resources.models import Booking

    start_at, end_at = _at(day, start), _at(day, end)
    audience = bookings.audience_for(organisation, resource)
    unit, amount, currency = bookings.quote(resource, audience, int((end_at - start_at).total_seconds() // 60))
    booking = Booking(resource_id=resource.id, user_id=user.id, organisation_id=organisation.id if organisation else None,
                      start_at=start_at, end_at=end_at, blocked_from=start_at,
                      blocked_until=end_at + timedelta(minutes=resource.buffer_minutes), status=status,
                      purpose=purpose, audience=audience, price_unit=unit, price_amount=amount, currency=currency,
                      terms_version=resource.terms_version, decided_at=utcnow() if status != "pending" else None)
    db.session.add(booking)
    return booking


@demo_seeder(order=25)
def seed_bookings(context: DemoContext, progress) -> None:
    """Two weeks of past bookings (utilisation, statements, reviews), upcoming ones, a pending request
    with a clashing one in the approval queue, a qualification, a holiday and a maintenance window."""
    from zoneinfo import ZoneInfo

    from resources.models import Blackout, OpeningException, Qualification, Review

    progress("bookings")
    resources = list(context.extra.get("resources", {}).values())
    if not resources:
        return
    by_kind = {r.name.split(" ")[0]: r for r in resources}
    printer, cnc, line = by_kind["3D"], by_kind["五轴加工中心"], by_kind["注塑小批量产线"]
    emc, studio, laser = by_kind["EMC"], by_kind["工业设计工作室"], by_kind["激光切割机"]
    founder, maria = context.users["founder"], context.users["founder2"]
    aircare, greenbrew = context.organisations["aircare"], context.organisations["greenbrew"]
    today = utcnow().astimezone(ZoneInfo("Asia/Shanghai")).date()

    db.session.add(Qualification(resource_id=cnc.id, user_id=founder.id, granted_by_id=context.users["haier_staff"].id,
                                 expires_at=utcnow() + timedelta(days=180)))
    past = _weekdays(today - timedelta(days=15), 10)
    completed = []
    for index, day in enumerate(d for d in past if d < today):
        completed.append(_booking(printer, founder, aircare, day, "09:00", "13:00", "completed",
                                  f"外壳打印 Housing prints, iteration {index + 1}"))
        if index % 2 == 0:
            completed.append(_booking(emc, founder, aircare, day, "14:00", "17:00", "completed",
                                      "EMC 预测试 Fan motor conducted emissions"))
        if index % 3 == 0:
            completed.append(_booking(laser, maria, greenbrew, day, "10:00", "12:00", "completed",
                                      "Acrylic window panels"))
        if index % 2 == 1:
            completed.append(_booking(cnc, founder, aircare, day, "09:00", "15:00", "completed",
                                      f"Heat sink fins, batch {index + 1}"))
        if index % 3 == 2:
            completed.append(_booking(line, maria, greenbrew, day, "08:00", "18:00", "completed",
                                      "Composter lid trial run"))
        if index % 4 == 1:
            completed.append(_booking(studio, maria, greenbrew, day, "09:00", "17:00", "completed",
                                      "Appearance model review"))
    db.session.flush()
    for booking, (rating, comment) in zip(completed[:4], [
            (5, "打印质量稳定，后处理很专业。Great surface finish."),
            (4, "Engineer on hand helped a lot; chamber was busy."),
            (5, "Precise cuts, fair price."),
            (4, "设备齐全 Good tools, a bit noisy.")], strict=False):
        db.session.add(Review(booking_id=booking.id, resource_id=booking.resource_id, user_id=booking.user_id,
                              rating=rating, comment=comment))
    upcoming = _weekdays(today + timedelta(days=1), 8)
    _booking(printer, founder, aircare, upcoming[0], "10:00", "12:00", "confirmed", "Fan shroud v3")
    _booking(cnc, founder, aircare, upcoming[1], "09:00", "12:00", "confirmed", "Aluminium heat sink")
    _booking(laser, maria, greenbrew, upcoming[2], "14:00", "16:00", "confirmed", "Lid prototypes")
    # The approval queue: two requests for overlapping time on the pilot line (approving one rejects the other).
    _booking(line, founder, aircare, upcoming[3], "08:00", "14:00", "pending", "首批 500 件外壳试产 Pilot run, 500 housings")
    _booking(line, maria, greenbrew, upcoming[3], "12:00", "18:00", "pending", "Composter lid, 300 parts")
    _booking(emc, maria, greenbrew, upcoming[4], "09:00", "12:00", "pending", "Radiated emissions pre-scan")
    holiday = upcoming[-1]
    db.session.add(OpeningException(resource_id=studio.id, day=holiday, note="团队活动 Team day: closed"))
    db.session.add(Blackout(resource_id=printer.id, kind="maintenance", starts_at=_at(upcoming[5], "09:00"),
                            ends_at=_at(upcoming[5], "13:00"), reason="EOS M 290 年度保养 annual service"))
    db.session.flush()
