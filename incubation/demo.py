"""Demo data of incubation: projects of the demo startups, a Haier program, mentors with office hours, ideas."""

from datetime import timedelta

from incubation import services
from incubation.models import (
    ChainStage,
    Confidentiality,
    IncubationMode,
    ProjectStage,
    ProjectStatus,
    SupportStatus,
)
from incubation.schemas.documents import NewDocument
from incubation.schemas.ideas import NewComment, NewIdea
from incubation.schemas.mentors import Booking, MentorProfileIn, NewSlot, SessionFeedback, SessionNotes
from incubation.schemas.programs import Criterion, Decision, NewApplication, NewProgram, NewReview, Question
from incubation.schemas.projects import FormerEmploymentClaim, MoneyIn, NdaAccept, NdaText, ProjectDraft
from incubation.schemas.support import KpiIn, MilestoneIn, NewSupportRequest, ProgressIn, SupportUpdate
from portal.db import utcnow
from portal.demo import DemoContext, demo_seeder

DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj "
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 100]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")


def _demo_document(project, user, title: str, confidentiality: str) -> None:
    """A small PDF standing in for a pitch deck or drawing, stored like any upload."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    services.add_document(project, FileStorage(BytesIO(DEMO_PDF), filename=f"{title}.pdf"), user,
                          NewDocument(title=title, confidentiality=confidentiality))



@demo_seeder(20)
def seed_incubation(context: DemoContext, progress) -> None:
    progress("projects, program, mentors, ideas")
    users, orgs = context.users, context.organisations
    now = utcnow()

    ventilator = services.create_project(orgs["aircare"], users["founder"], ProjectDraft(
        title="静音智能新风机 Quiet Smart Ventilator",
        summary="23 分贝的小户型新风机，手机远程控制。A 23 dB fresh-air unit for small flats, app controlled.",
        industry="智能家居 Smart home", stage=ProjectStage.PROTOTYPE, mode=IncubationMode.CROWDFUNDING,
        funding_sought=MoneyIn(amount=1_500_000_00, currency="CNY"),
        description="壁挂式新风机，带 HEPA H13 滤网和 CO2 传感器，夜间模式低于 23 dB。"
                    "Wall-mounted ventilator with an H13 HEPA filter and CO2 sensing; night mode below 23 dB.",
        problem="小户型住户关窗睡觉时 CO2 超过 1500 ppm，现有新风机太吵太大。"
                "People in small flats sleep with closed windows and CO2 above 1500 ppm; existing units are loud.",
        solution="无蜗壳离心风道与自适应风量算法。A volute-free centrifugal duct and adaptive airflow control.",
        market="中国一二线城市 4,000 万套 60 平米以下住房。40 million homes under 60 m² in tier-1/2 cities.",
        business_model="硬件销售 + 滤网订阅。Hardware sales plus a filter subscription.",
        team="陈晨 (CEO, ex-Haier HVAC), 王磊 (firmware), 2 名工程师 two engineers.",
    ))
    services.submit_project(ventilator, users["founder"])

    composter = services.create_project(orgs["greenbrew"], users["founder2"], ProjectDraft(
        title="GreenBrew Countertop Composter 台面厨余堆肥机",
        summary="Turns a day of kitchen scraps into dry compost overnight. 一夜把厨余变成干堆肥。",
        industry="Cleantech 清洁技术", stage=ProjectStage.MVP, mode=IncubationMode.OPEN_SOURCE,
        funding_sought=MoneyIn(amount=800_000_00, currency="CNY"),
        problem="Shanghai's waste sorting rules made wet waste a daily chore. 上海垃圾分类让湿垃圾成为日常负担。",
        solution="Heating, grinding and a microbial cartridge in a 9-litre unit. 加热、研磨与菌种盒一体。",
        team="Maria Rossi (CEO, mechanical engineer), 赵敏 Zhao Min (microbiology).",
    ))
    services.submit_project(composter)

    services.create_project(orgs["aircare"], users["founder"], ProjectDraft(
        title="车载空气净化器 Car Air Purifier (draft)",
        summary="复用新风机风道的车载净化器。A car purifier reusing the ventilator's duct design.",
        industry="智能家居 Smart home", stage=ProjectStage.IDEA, mode=IncubationMode.SPIN_OFF,
    ))

    program = services.create_program(orgs["haier"], NewProgram(
        organisation_id=orgs["haier"].id, title="海创汇 2027 春季营 Spring Cohort",
        description="12 周加速营：开放海尔实验室、供应链对接与渠道试点，面向从用户需求出发、准备众筹的项目。"
                    "A 12-week accelerator with Haier labs, supply-chain introductions and channel pilots for "
                    "products that start from consumer demand and go to crowdfunding.",
        mode=IncubationMode.CROWDFUNDING, opens_at=now - timedelta(days=3), closes_at=now + timedelta(days=30),
        capacity=12, criteria=[Criterion(name="Market 市场", weight=40), Criterion(name="Team 团队", weight=35),
                               Criterion(name="Technology 技术", weight=25)],
        questions=[Question(text="你们已经验证了哪些用户需求？What consumer demand have you validated?", required=True),
                   Question(text="需要海尔哪些资源？Which Haier resources do you need?")],
    ))
    context.extra["program"] = program
    open_track = services.create_program(orgs["midea"], NewProgram(
        organisation_id=orgs["midea"].id, title="开源创客营 Open Source Maker Track",
        description="有想法、缺资源的团队：免费使用顺德创客空间的实验室与设备额度。"
                    "For founders with an idea but no resources: credits for the makerspace's labs and equipment.",
        mode=IncubationMode.OPEN_SOURCE, opens_at=now - timedelta(days=10), closes_at=now + timedelta(days=20),
        capacity=6, criteria=[Criterion(name="Impact 影响", weight=50), Criterion(name="Feasibility 可行性", weight=50)],
        blind_review=True, credit_amount=20_000_00, credit_currency="CNY",
    ))
    services.create_program(orgs["haier"], NewProgram(
        organisation_id=orgs["haier"].id, title="海尔离职创业计划 Haier Alumni Spin-off Program",
        description="只面向经海尔核实的前员工创业团队。Only for startups founded by verified former Haier employees.",
        mode=IncubationMode.SPIN_OFF, opens_at=now - timedelta(days=1), closes_at=now + timedelta(days=60),
        capacity=5, criteria=[Criterion(name="Fit with Haier 协同", weight=60), Criterion(name="Team 团队", weight=40)],
    ))
    # Chen Chen worked in Haier's HVAC division; Haier's staff verified it (the spin-off gate).
    record = services.claim_former_employment(users["founder"], orgs["haier"], FormerEmploymentClaim(
        company_id=orgs["haier"].id, position="HVAC product manager", years="2016-2023"))
    services.verify_former_employment(record, users["haier_staff"])

    # The ventilator went the whole way: applied, reviewed, accepted, incubating.
    application = services.apply_to_program(program, ventilator, users["founder"], NewApplication(
        project_id=ventilator.id, answers={
            str(program.questions[0].id): "1,200 预订意向、两场用户共创会。1,200 pre-orders of interest and two "
                                          "co-creation workshops."}))
    services.assign_reviewer(application, users["haier_staff"], users["haier_staff"])
    services.assign_reviewer(application, users["mentor2"], users["haier_staff"])
    for reviewer, scores, recommendation in (
            ("haier_staff", (5, 4, 4), "yes"), ("mentor2", (4, 4, 5), "yes")):
        assignment = services.assignment_of(application, users[reviewer])
        services.submit_review(assignment, NewReview(
            scores=dict(zip([c.name for c in program.criteria], scores, strict=True)),
            recommendation=recommendation, comment="Strong demand signal; tooling plan is realistic."))
    services.decide(application, Decision(decision="accepted", feedback="欢迎加入春季营！请先完成 EMC 预测试。Welcome "
                                                                          "aboard: book the EMC pre-compliance lab first."),
                    users["haier_staff"])
    services.transition_project(ventilator, ProjectStatus.INCUBATING, actor=users["haier_staff"],
                                note="Kick-off meeting held in Qingdao.")
    services.set_nda_text(ventilator, NdaText(nda_text="接收方对本项目的设计图纸、BOM 与供应商信息保密三年。The recipient keeps the design "
                                      "drawings, BOM and supplier information of this project confidential for three "
                                      "years and uses them only to evaluate the project."), users["founder"])
    _demo_document(ventilator, users["founder"], "Pitch deck 路演材料", Confidentiality.REGISTERED)
    _demo_document(ventilator, users["founder"], "Duct drawings 风道图纸", Confidentiality.NDA)
    services.accept_nda(ventilator, users["mentor2"], NdaAccept())
    tooling = services.add_milestone(ventilator, MilestoneIn(title="模具开模 Tooling released",
                                                             due_at=now + timedelta(days=21)))
    services.add_milestone(ventilator, MilestoneIn(title="EMC 预测试通过 EMC pre-compliance passed",
                                                   due_at=now + timedelta(days=35)))
    preorders = services.add_kpi(ventilator, KpiIn(name="Pre-orders 预订", target=3000, unit="units"))
    services.post_progress(ventilator, users["founder"], ProgressIn(
        body="模具供应商已选定。Tooling supplier chosen.", milestone_id=tooling.id, progress=60), milestone=tooling)
    services.post_progress(ventilator, users["founder"], ProgressIn(
        body="众筹预热页上线。Pre-launch page is live.", kpi_id=preorders.id, kpi_value=1280), kpi=preorders)
    done = services.open_support_request(ventilator, users["founder"], NewSupportRequest(
        stage=ChainStage.DESIGN, title="风道降噪仿真 Duct noise simulation",
        body="需要 CFD 仿真支持。We need a CFD run of the new duct."))
    services.update_support_request(done, users["haier_staff"], SupportUpdate(status=SupportStatus.IN_PROGRESS))
    services.update_support_request(done, users["haier_staff"], SupportUpdate(
        status=SupportStatus.CLOSED, resolution="仿真完成，噪音降低 2 dB。Simulation done: 2 dB quieter."))
    services.open_support_request(ventilator, users["founder"], NewSupportRequest(
        stage=ChainStage.MANUFACTURING, title="小批量试产 500 台 Pilot run of 500 units",
        body="希望使用胶州产线两天。Two days on the Jiaozhou line."))

    # The composter is under blind review in the open-source track, next to a second application,
    # so the manager's ranking shows normalised scores.
    filters = services.create_project(orgs["aircare"], users["founder"], ProjectDraft(
        title="开源滤网标准 Open Filter Standard",
        summary="任何品牌都能用的开源新风滤网规格。An open filter spec any ventilator brand can use.",
        industry="智能家居 Smart home", stage=ProjectStage.IDEA, mode=IncubationMode.OPEN_SOURCE,
        problem="每个品牌的滤网都不通用。Every brand's filter is proprietary.",
        solution="开放尺寸与卡扣规范。An open size and clip specification."))
    services.submit_project(filters, users["founder"])
    # Blind review: the reviewers see only these pitches, written for the program without names.
    composter_application = services.apply_to_program(open_track, composter, users["founder2"], NewApplication(
        project_id=composter.id, answers={
            services.PITCH_KEY: "一台放在厨房台面上的堆肥机，24 小时把厨余变成花肥。A countertop composter that turns "
                                "kitchen scraps into plant food in 24 hours; 40 households tested the prototype."}))
    filters_application = services.apply_to_program(open_track, filters, users["founder"], NewApplication(
        project_id=filters.id, answers={
            services.PITCH_KEY: "一份开放的新风滤网尺寸与卡扣规范。An open size and clip specification for ventilator "
                                "filters, so any brand's filter fits any machine."}))
    names = [c.name for c in open_track.criteria]
    for application_, reviews in ((composter_application, (("midea_staff", (4, 3), "yes"), ("mentor2", (3, 3), "maybe"))),
                                  (filters_application, (("midea_staff", (2, 3), "maybe"), ("mentor2", (1, 2), "no")))):
        for reviewer, scores, recommendation in reviews:
            assignment = services.assign_reviewer(application_, users[reviewer], users["midea_staff"])
            services.submit_review(assignment, NewReview(scores=dict(zip(names, scores, strict=True)),
                                                         recommendation=recommendation))

    # A rejected project, with the reason on its timeline (and mailed to its founder).
    washer = services.create_project(orgs["greenbrew"], users["founder2"], ProjectDraft(
        title="Bottle Washer 奶瓶清洗机",
        summary="A countertop baby-bottle washer and dryer. 台面奶瓶清洗烘干机。", industry="Cleantech 清洁技术",
        stage=ProjectStage.PROTOTYPE, mode=IncubationMode.CROWDFUNDING))
    services.submit_project(washer, users["founder2"])
    washer_application = services.apply_to_program(program, washer, users["founder2"], NewApplication(
        project_id=washer.id, answers={str(program.questions[0].id): "Interviews with 30 parents."}))
    services.assign_reviewer(washer_application, users["haier_staff"], users["haier_staff"])
    services.submit_review(services.assignment_of(washer_application, users["haier_staff"]), NewReview(
        scores=dict(zip([c.name for c in program.criteria], (2, 3, 2), strict=True)), recommendation="no"))
    services.decide(washer_application, Decision(decision="rejected", feedback="市场已饱和，建议聚焦堆肥机。The market is "
                                                                              "crowded; focus on the composter."),
                    users["haier_staff"])

    zhang = services.save_mentor_profile(users["mentor"], MentorProfileIn(
        bio="前海尔供应链总监，15 年家电量产经验。Former Haier supply-chain director, 15 years of appliance mass production.",
        expertise=["供应链 supply chain", "量产 mass production", "fundraising"],
        industries=["智能家居 Smart home", "家电 Appliances"], languages=["zh", "en"],
        organisation="海尔卡奥斯 Haier COSMOPlat",
    ))
    anna = services.save_mentor_profile(users["mentor2"], MentorProfileIn(
        bio="Industrial designer and IoT firmware lead; shipped three connected appliances in Europe.",
        expertise=["工业设计 industrial design", "IoT firmware", "CE certification"],
        industries=["Consumer electronics", "Cleantech 清洁技术"], languages=["en", "de"],
        organisation="Studio Schmidt, Munich",
    ))
    day = (now + timedelta(days=1)).replace(hour=2, minute=0, second=0, microsecond=0)  # 10:00 in Shanghai
    slots = []
    for profile, offsets in ((zhang, (0, 2, 5, 7)), (anna, (1, 3, 8))):
        for offset in offsets:
            start = day + timedelta(days=offset)
            slots.append(services.add_slot(profile, NewSlot(start=start, end=start + timedelta(minutes=45))))
    services.book_slot(slots[0], users["founder"], Booking(topic="模具供应商选择 Choosing a tooling supplier",
                                                           project_id=ventilator.id), ventilator)
    # A session that already took place, with the mentor's notes and the founder's rating.
    past = services.add_slot(zhang, NewSlot(start=day - timedelta(days=8),
                                            end=day - timedelta(days=8) + timedelta(minutes=45)))
    past.booked_by_id, past.booked_at = users["founder"].id, now - timedelta(days=10)
    past.topic, past.project_id = "众筹定价 Crowdfunding price points", ventilator.id
    services.save_session_notes(past, SessionNotes(
        notes="建议早鸟价 1,299 元，限量 300 台。Early-bird at CNY 1,299, limited to 300 units."))
    services.leave_session_feedback(past, users["founder"], SessionFeedback(rating=5,
                                                                            feedback="非常实用！Very practical advice."))

    ideas = [
        services.create_idea(users["backer"], NewIdea(title="能自动清洗的空调滤网 Self-cleaning AC filter",
                             description="每月拆洗滤网太麻烦了。Taking the filter out every month is a pain.")),
        services.create_idea(users["founder2"], NewIdea(title="Balcony herb garden with a water tank",
                             description="Automatic watering for two weeks of holidays. 出差两周也能自动浇水。")),
        services.create_idea(users["founder"], NewIdea(title="宠物毛发感应扫地机 Robot vacuum that detects pet hair",
                             description="检测到掉毛高峰时自动加扫。Extra runs when shedding peaks.")),
    ]
    for idea, voters in zip(ideas, (("founder", "founder2", "mentor2", "backer"), ("backer", "mentor"),
                                    ("backer",)), strict=True):
        for key in voters:
            services.vote_for_idea(idea, users[key])
    services.comment_on_idea(ideas[0], users["mentor"], NewComment(body="滤网自清洁可以借鉴扫地机的尘盒设计。Borrow the "
                                                                       "robot vacuum's dust-box design for the "
                                                                       "self-cleaning part."))
    services.comment_on_idea(ideas[1], users["founder2"],
                             NewComment(body="We could reuse the composter's pump. 可以复用堆肥机的水泵。"))
    services.adopt_idea(ideas[0], filters, users["founder"])

    context.extra.setdefault("projects", {}).update({"aircare": ventilator, "greenbrew": composter})
