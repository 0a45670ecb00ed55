"""Demo data of incubation: projects of the demo startups, a Haier program, mentors with office hours, ideas."""

from datetime import timedelta

from incubation import services
from incubation.models import IncubationMode, ProjectStage, ProjectStatus
from portal.db import utcnow
from portal.demo import DemoContext, demo_seeder


def _set_status(project, status: str) -> None:
    # Demo shortcut past screening and review, which later parts of the workflow own.
    project.status = status


@demo_seeder(20)
def seed_incubation(context: DemoContext, progress) -> None:
    progress("projects, program, mentors, ideas")
    users, orgs = context.users, context.organisations
    now = utcnow()

    ventilator = services.create_project(
        orgs["aircare"], users["founder"],
        title="静音智能新风机 Quiet Smart Ventilator",
        summary="23 分贝的小户型新风机，手机远程控制。A 23 dB fresh-air unit for small flats, app controlled.",
        industry="智能家居 Smart home", stage=ProjectStage.PROTOTYPE, mode=IncubationMode.CROWDFUNDING,
        funding_sought_amount=1_500_000_00, currency="CNY",
        description="壁挂式新风机，带 HEPA H13 滤网和 CO2 传感器，夜间模式低于 23 dB。"
                    "Wall-mounted ventilator with an H13 HEPA filter and CO2 sensing; night mode below 23 dB.",
        problem="小户型住户关窗睡觉时 CO2 超过 1500 ppm，现有新风机太吵太大。"
                "People in small flats sleep with closed windows and CO2 above 1500 ppm; existing units are loud.",
        solution="无蜗壳离心风道与自适应风量算法。A volute-free centrifugal duct and adaptive airflow control.",
        market="中国一二线城市 4,000 万套 60 平米以下住房。40 million homes under 60 m² in tier-1/2 cities.",
        business_model="硬件销售 + 滤网订阅。Hardware sales plus a filter subscription.",
        team="陈晨 (CEO, ex-Haier HVAC), 王磊 (firmware), 2 名工程师 two engineers.",
    )
    _set_status(ventilator, ProjectStatus.INCUBATING)

    composter = services.create_project(
        orgs["greenbrew"], users["founder2"],
        title="GreenBrew Countertop Composter 台面厨余堆肥机",
        summary="Turns a day of kitchen scraps into dry compost overnight. 一夜把厨余变成干堆肥。",
        industry="Cleantech 清洁技术", stage=ProjectStage.MVP, mode=IncubationMode.OPEN_SOURCE,
        funding_sought_amount=800_000_00, currency="CNY",
        problem="Shanghai's waste sorting rules made wet waste a daily chore. 上海垃圾分类让湿垃圾成为日常负担。",
        solution="Heating, grinding and a microbial cartridge in a 9-litre unit. 加热、研磨与菌种盒一体。",
        team="Maria Rossi (CEO, mechanical engineer), 赵敏 Zhao Min (microbiology).",
    )
    services.submit_project(composter)

    services.create_project(
        orgs["aircare"], users["founder"],
        title="车载空气净化器 Car Air Purifier (draft)",
        summary="复用新风机风道的车载净化器。A car purifier reusing the ventilator's duct design.",
        industry="智能家居 Smart home", stage=ProjectStage.IDEA, mode=IncubationMode.SPIN_OFF,
    )

    program = services.create_program(
        orgs["haier"], title="海创汇 2027 春季营 Spring Cohort",
        description="12 周加速营：开放海尔实验室、供应链对接与渠道试点。"
                    "A 12-week accelerator with Haier labs, supply-chain introductions and channel pilots.",
        mode=IncubationMode.INTERNAL, opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=30),
        capacity=12, criteria=[("Market 市场", 40), ("Team 团队", 35), ("Technology 技术", 25)],
    )
    context.extra["program"] = program

    zhang = services.save_mentor_profile(
        users["mentor"],
        bio="前海尔供应链总监，15 年家电量产经验。Former Haier supply-chain director, 15 years of appliance mass production.",
        expertise=["供应链 supply chain", "量产 mass production", "fundraising"],
        industries=["智能家居 Smart home", "家电 Appliances"], languages=["zh", "en"],
        organisation="海尔卡奥斯 Haier COSMOPlat",
    )
    anna = services.save_mentor_profile(
        users["mentor2"],
        bio="Industrial designer and IoT firmware lead; shipped three connected appliances in Europe.",
        expertise=["工业设计 industrial design", "IoT firmware", "CE certification"],
        industries=["Consumer electronics", "Cleantech 清洁技术"], languages=["en", "de"],
        organisation="Studio Schmidt, Munich",
    )
    day = (now + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 in Shanghai
    slots = []
    for profile, offsets in ((zhang, (0, 2, 5, 7)), (anna, (1, 3, 8))):
        for offset in offsets:
            start = day + timedelta(days=offset)
            slots.append(services.add_slot(profile, start, start + timedelta(minutes=45)))
    booked = slots[0]
    booked.booked_by_id = users["founder"].id
    booked.topic = "模具供应商选择 Choosing a tooling supplier"

    ideas = [
        services.create_idea(users["backer"], "能自动清洗的空调滤网 Self-cleaning AC filter",
                             "每月拆洗滤网太麻烦了。Taking the filter out every month is a pain."),
        services.create_idea(users["founder2"], "Balcony herb garden with a water tank",
                             "Automatic watering for two weeks of holidays. 出差两周也能自动浇水。"),
        services.create_idea(users["founder"], "宠物毛发感应扫地机 Robot vacuum that detects pet hair",
                             "检测到掉毛高峰时自动加扫。Extra runs when shedding peaks."),
    ]
    for idea, voters in zip(ideas, (("founder", "founder2", "mentor2", "backer"), ("backer", "mentor"),
                                    ("backer",)), strict=True):
        for key in voters:
            services.vote_for_idea(idea, users[key])

    context.extra.setdefault("projects", {}).update({"aircare": ventilator, "greenbrew": composter})
