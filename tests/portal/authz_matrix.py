"""THE authorization table: every route x nine actors, one line per route (issue 9, point 9).

Read each line against the world described in `tests/portal/authz_world.py` (anchor company A owns
the resource, booking decisions, the program and receives the financing application; startup S owns
the projects, the campaign and the financing application; the outsider backs the campaign).

Columns: anon = anonymous, outs = outsider (founder of another startup; the campaign's backer, the
idea's author, the invitee), unvr = staff of an UNverified company, othr = verified staff of another
company, ownr = verified staff of the owner (anchor) company, fndr = founder of the owning startup,
revw = reviewer assigned to the application, conf = assigned reviewer who declared a conflict, admn.

Cells:
  ok     2xx, or a 3xx that is not the login page (HTML: and no "danger" flash)
  pass   the permission check passed: ok, or the minimal body/state was refused with 400/409
         (HTML: or a redirect with a "danger" flash). Used where the row sends an empty body.
  login  asked to authenticate: 401 (API), redirect to /auth/login (HTML)
  deny   403 or 404, before any validation of the (empty) body
  seen / hidden   200 and the row's object is / is not in the list (API items, HTML text)
  own    403 `own_campaign`;  unv  409 `organisation_unverified`;  coi  409 `conflict_of_interest`
         (HTML: that status, or a redirect with a "danger" flash)
  refused  deny; on HTML pages also a redirect (not to login) with a danger/info/warning flash and no success
  nda    HTML: deny, or a redirect to the project's NDA acceptance page
  any    no authorization question here (still never a 500)
  NNN    exactly that status
A line may name a macro instead of nine cells: public (ok x9), public-pass (pass x9), user (login, ok x8),
user-pass (login, pass x8), admin (login, deny x7, pass). Options after the cells: `var=world_key`
picks another world object for a URL variable; `look=world_key` names the object of seen/hidden.
Rows whose key ends in `@variant` repeat a route with other objects. Request bodies: BODIES below.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import timedelta

TABLE = r"""
# method path                                                  anon  outs  unvr  othr  ownr  fndr  revw  conf  admn
# ---- accounts and organisations (API) ------------------------------------------------------------------------------
POST   /api/v1/auth/register                                   public-pass
POST   /api/v1/auth/tokens                                     public-pass
GET    /api/v1/auth/tokens                                     user
DELETE /api/v1/auth/tokens/<token_id>                          login deny  deny  deny  deny  ok    deny  deny  ok    # founder's spare token
GET    /api/v1/me                                              user
GET    /api/v1/me/invitations                                  user
POST   /api/v1/invitations/<invitation_id>/accept              login ok    deny  deny  deny  deny  deny  deny  deny  # invitee only, not even admin
POST   /api/v1/invitations/<invitation_id>/decline             login ok    deny  deny  deny  deny  deny  deny  deny
POST   /api/v1/admin/organisations/<organisation_id>/verification  admin
GET    /api/v1/organisations                                   public
POST   /api/v1/organisations                                   user-pass
GET    /api/v1/organisations/<organisation_id>                 public
POST   /api/v1/organisations/<organisation_id>/members         login deny  deny  deny  ok    deny  deny  deny  ok    # owners of A invite
GET    /api/v1/organisations/<organisation_id>/resource-statement      login deny deny deny ok deny deny deny ok
GET    /api/v1/organisations/<organisation_id>/resource-statement.csv  login deny deny deny ok deny deny deny ok
GET    /api/v1/organisations/<organisation_id>/resource-utilisation    login deny deny deny ok deny deny deny ok
GET    /api/v1/openapi.json                                    public
GET    /api/docs                                               public
# ---- accounts and organisations (HTML) -----------------------------------------------------------------------------
GET    /                                                       public
GET    /healthz                                                public
GET    /readyz                                                 public
GET    /metrics                                                404   404   404   404   404   404   404   404   404   # METRICS_TOKEN unset; with it, its bearer token and no login (test_observability)
GET    /dashboard                                              user
POST   /language                                               public
GET    /language                                               public
GET    /admin/                                                 admin
GET    /admin/audit                                            admin
GET    /admin/users                                            admin
POST   /admin/organisations/<organisation_id>/verification     admin
POST   /admin/users/<user_id>/active                           admin
POST   /admin/users/<user_id>/roles                            admin
GET    /admin/queues/campaigns                                 admin
GET    /admin/queues/projects                                  admin
GET    /admin/queues/companies                                 admin
GET    /admin/queues/flags                                     admin
POST   /admin/moderation                                       admin       # empty form: 400 for admins, 403 before it for the rest
POST   /report                                                 user-pass   # empty form: 400 (the form names the object)
GET    /auth/account                                           user
POST   /auth/account                                           user-pass
POST   /auth/account/tokens/<token_id>/revoke                  login deny  deny  deny  deny  pass  deny  deny  pass
GET    /auth/confirm/<token>                                   any   any   any   any   any   any   any   any   any   # an invalid link: back to login with a flash
POST   /auth/confirm/resend                                    user-pass
GET    /auth/forgot-password                                   public
POST   /auth/forgot-password                                   public-pass
GET    /auth/login                                             public
POST   /auth/login                                             public-pass
POST   /auth/logout                                            any   ok    ok    ok    ok    ok    ok    ok    ok
GET    /auth/register                                          public
POST   /auth/register                                          public-pass
GET    /auth/reset-password/<token>                            public-pass
POST   /auth/reset-password/<token>                            public-pass
GET    /organisations/                                         public
GET    /organisations/<organisation_id>                        public
POST   /organisations/<organisation_id>                        login deny  deny  deny  pass  deny  deny  deny  pass  # adding a member: owners of A
GET    /organisations/<organisation_id>/edit                   login deny  deny  deny  ok    deny  deny  deny  ok
POST   /organisations/<organisation_id>/edit                   login deny  deny  deny  pass  deny  deny  deny  pass
POST   /organisations/<organisation_id>/logo                   login deny  deny  deny  pass  deny  deny  deny  pass  # no file: 400 for owners of A
GET    /images/<slot>/<object_id>/<file_id>.<size>             public  slot=image_slot object_id=resource_id file_id=image_file_id size=image_size  # a published lab's photo
POST   /organisations/<organisation_id>/members/<membership_id>/remove  login deny deny deny deny pass deny deny pass  organisation_id=startup_id
GET    /organisations/invitations/<token>                      login ok    refused refused refused refused refused refused refused  token=invitation_token
POST   /organisations/invitations/<invitation_id>/<answer>     login pass  refused refused refused refused refused refused refused
GET    /organisations/new                                      user
POST   /organisations/new                                      user-pass
# ---- incubation: projects (API) ------------------------------------------------------------------------------------
GET    /api/v1/projects                                        public
GET    /api/v1/projects@draft                                  hidden hidden hidden hidden hidden seen hidden hidden seen  look=draft_project_id
POST   /api/v1/projects                                        login deny  deny  deny  deny  ok    deny  deny  pass  # body names startup S
GET    /api/v1/projects/<project_id>                           public
GET    /api/v1/projects/<project_id>@draft                     login deny  deny  deny  deny  ok    deny  deny  ok    project_id=draft_project_id
PATCH  /api/v1/projects/<project_id>                           login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/projects/<project_id>/document-views            login deny  deny  deny  deny  ok    deny  deny  ok
GET    /api/v1/projects/<project_id>/documents                 public
POST   /api/v1/projects/<project_id>/documents                 login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/projects/<project_id>/kpis                      login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/projects/<project_id>/milestones                login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/projects/<project_id>/nda                       public
PUT    /api/v1/projects/<project_id>/nda                       login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/projects/<project_id>/nda/acceptances           user-pass
GET    /api/v1/projects/<project_id>/progress                  public
POST   /api/v1/projects/<project_id>/progress                  login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/projects/<project_id>/submit                    login deny  deny  deny  deny  ok    deny  deny  ok    project_id=draft_project_id
POST   /api/v1/projects/<project_id>/support-requests          login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/projects/<project_id>/timeline                  public
POST   /api/v1/projects/<project_id>/transitions               login deny  deny  deny  pass  deny  deny  deny  pass  # screening: the program's managers only
DELETE /api/v1/documents/<document_id>                         login deny  deny  deny  deny  ok    deny  deny  ok
GET    /api/v1/documents/<document_id>/file                    login deny  deny  deny  deny  ok    deny  deny  ok    # NDA-gated, nobody accepted it
GET    /api/v1/documents/<document_id>/receipt                 login deny  deny  deny  deny  ok    deny  deny  ok    # existence receipt: the founders'
PUT    /api/v1/milestones/<milestone_id>                       login deny  deny  deny  deny  pass  deny  deny  pass
DELETE /api/v1/milestones/<milestone_id>                       login deny  deny  deny  deny  pass  deny  deny  pass
PUT    /api/v1/kpis/<kpi_id>                                   login deny  deny  deny  deny  pass  deny  deny  pass
DELETE /api/v1/kpis/<kpi_id>                                   login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/support-requests                                user
POST   /api/v1/support-requests/<support_id>/status            login deny  deny  deny  pass  deny  deny  deny  pass  # addressed to A
# ---- incubation: projects (HTML) -----------------------------------------------------------------------------------
GET    /projects/                                              public
GET    /projects/new                                           login ok    refused refused refused ok   refused refused ok    # founders of a startup (the outsider has one)
POST   /projects/new                                           login pass  refused refused refused pass refused refused pass
GET    /projects/<project_id>                                  public
GET    /projects/<project_id>@draft                            login deny  deny  deny  deny  ok    deny  deny  ok    project_id=draft_project_id
GET    /projects/<project_id>/cover                            404   404   404   404   404   404   404   404   404   # no cover uploaded
POST   /projects/<project_id>/cover                            login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/logo                             login deny  deny  deny  deny  pass  deny  deny  pass  # no file: 400 for the team
GET    /projects/<project_id>/document-views                   login deny  deny  deny  deny  ok    deny  deny  ok
POST   /projects/<project_id>/documents                        login deny  deny  deny  deny  pass  deny  deny  pass
GET    /projects/<project_id>/edit                             login deny  deny  deny  deny  ok    deny  deny  ok
POST   /projects/<project_id>/edit                             login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/kpis                             login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/milestones                       login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/nda                              login deny  deny  deny  deny  pass  deny  deny  pass
GET    /projects/<project_id>/nda/accept                       user
POST   /projects/<project_id>/nda/accept                       user-pass
POST   /projects/<project_id>/progress                         login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/submit                           login deny  deny  deny  deny  ok    deny  deny  ok    project_id=draft_project_id
POST   /projects/<project_id>/support-requests                 login deny  deny  deny  deny  pass  deny  deny  pass
POST   /projects/<project_id>/transition                       login deny  deny  deny  pass  deny  deny  deny  pass
GET    /documents/<document_id>                                login nda   nda   nda   nda   ok    nda   nda   ok    # NDA-gated: asked to accept the NDA first
GET    /documents/<document_id>/receipt                        login refused refused refused refused ok refused refused ok
POST   /documents/<document_id>/delete                         login deny  deny  deny  deny  pass  deny  deny  pass
POST   /milestones/<milestone_id>/edit                         login deny  deny  deny  deny  pass  deny  deny  pass
POST   /milestones/<milestone_id>/delete                       login deny  deny  deny  deny  pass  deny  deny  pass
POST   /kpis/<kpi_id>/edit                                     login deny  deny  deny  deny  pass  deny  deny  pass
POST   /kpis/<kpi_id>/delete                                   login deny  deny  deny  deny  pass  deny  deny  pass
GET    /support/                                               user
POST   /support-requests/<support_id>/status                   login deny  deny  deny  pass  deny  deny  deny  pass
# ---- incubation: programs, applications, review (API) --------------------------------------------------------------
GET    /api/v1/programs                                        public
POST   /api/v1/programs                                        login deny  deny  deny  ok    deny  deny  deny  ok    # body names A
POST   /api/v1/programs@unverified                             login deny  unv   deny  deny  deny  deny  deny  unv   organisation_id=unverified_org_id  # publishing waits for verification
GET    /api/v1/programs/<program_id>                           public
PUT    /api/v1/programs/<program_id>                           login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/programs/<program_id>/publication               login deny  deny  deny  pass  deny  deny  deny  pass  # the company's staff
POST   /api/v1/programs/<program_id>/applications              login deny  deny  deny  deny  pass  deny  deny  pass  # body names the founder's project (applied already: 409)
GET    /api/v1/programs/<program_id>/applications              login deny  deny  deny  ok    deny  deny  deny  ok
POST   /api/v1/programs/<program_id>/auto-assign               login deny  deny  deny  pass  deny  deny  deny  pass
GET    /api/v1/programs/<program_id>/auto-assign               login deny  deny  deny  ok    deny  deny  deny  ok
GET    /api/v1/programs/<program_id>/ranking                   login deny  deny  deny  ok    deny  deny  deny  ok
GET    /api/v1/applications/<application_id>                   login deny  deny  deny  ok    ok    ok    ok    ok    # a declared conflict keeps the row
POST   /api/v1/applications/<application_id>/conflict          login deny  deny  deny  deny  deny  pass  pass  deny  # the reviewer's own assignment only
POST   /api/v1/applications/<application_id>/decision          login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/applications/<application_id>/reviewers         login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/applications/<application_id>/reviews           login deny  deny  deny  deny  deny  ok    coi   deny  # full valid body: assigned reviewers only
GET    /api/v1/reviews                                         user
# ---- incubation: programs, applications, review (HTML) -------------------------------------------------------------
GET    /programs/                                              public
GET    /programs/new                                           login refused any ok    ok    refused refused refused ok    # company staff; unverified may look
POST   /programs/new                                           login refused pass pass pass refused refused refused pass  # empty form
GET    /programs/<program_id>                                  public
GET    /programs/<program_id>/applications                     login deny  deny  deny  ok    deny  deny  deny  ok
POST   /programs/<program_id>/apply                            login refused refused refused refused pass refused refused pass
POST   /programs/<program_id>/auto-assign                      login deny  deny  deny  pass  deny  deny  deny  pass
GET    /programs/<program_id>/edit                             login deny  deny  deny  ok    deny  deny  deny  ok
POST   /programs/<program_id>/edit                             login deny  deny  deny  pass  deny  deny  deny  pass
POST   /programs/<program_id>/publication                      login deny  deny  deny  pass  deny  deny  deny  pass
GET    /applications/<application_id>                          login deny  deny  deny  ok    ok    ok    ok    ok
POST   /applications/<application_id>/conflict                 login deny  deny  deny  deny  deny  pass  pass  deny
POST   /applications/<application_id>/decision                 login deny  deny  deny  pass  deny  deny  deny  pass
POST   /applications/<application_id>/review                   login deny  deny  deny  deny  deny  pass  coi   deny
POST   /applications/<application_id>/reviewers                login deny  deny  deny  pass  deny  deny  deny  pass
GET    /reviews/                                               user
GET    /former-employments/                                    user
POST   /former-employments/                                    user-pass
POST   /former-employments/<record_id>/verify                  login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/former-employments                              user-pass
POST   /api/v1/former-employments/<record_id>/verify           login deny  deny  deny  ok    deny  deny  deny  ok
# ---- incubation: mentors and ideas ---------------------------------------------------------------------------------
GET    /api/v1/mentors                                         public
GET    /api/v1/mentors/<profile_id>                            public
PUT    /api/v1/mentors/me                                      login deny  deny  deny  deny  deny  pass  pass  pass  # mentor role
POST   /api/v1/mentors/me/slots                                login deny  deny  deny  deny  deny  pass  deny  deny  # needs a mentor profile
DELETE /api/v1/mentor-slots/<slot_id>                          login deny  deny  deny  deny  deny  pass  deny  pass  # the slot's mentor
POST   /api/v1/mentor-slots/<slot_id>/book                     login pass  pass  pass  pass  pass  pass  pass  pass  slot_id=free_slot_id
POST   /api/v1/mentor-slots/<slot_id>/cancel-booking           login deny  deny  deny  deny  pass  pass  deny  pass  # mentor or booker
POST   /api/v1/mentor-slots/<slot_id>/feedback                 login deny  deny  deny  deny  pass  pass  deny  pass
POST   /api/v1/mentor-slots/<slot_id>/notes                    login deny  deny  deny  deny  deny  pass  deny  pass
GET    /mentors/                                               public
GET    /mentors/<profile_id>                                   public
GET    /mentors/me                                             login deny  deny  deny  deny  deny  ok    ok    ok
POST   /mentors/me                                             login deny  deny  deny  deny  deny  pass  pass  pass
POST   /mentors/me/slots                                       login deny  deny  deny  deny  deny  pass  deny  deny
GET    /mentors/me/slots/feed                                  login deny  deny  deny  deny  deny  pass  pass  pass  # mentor role; no start/end: 400
POST   /mentors/me/avatar                                      login deny  deny  deny  deny  deny  pass  deny  deny  # needs a mentor profile; no file: 400
GET    /mentor-slots/<slot_id>                                 login deny  deny  deny  deny  ok    ok    deny  ok
POST   /mentor-slots/<slot_id>                                 login deny  deny  deny  deny  pass  pass  deny  pass
POST   /mentor-slots/<slot_id>/book                            login pass  pass  pass  pass  pass  pass  pass  pass  slot_id=free_slot_id
POST   /mentor-slots/<slot_id>/cancel                          login deny  deny  deny  deny  deny  pass  deny  pass
POST   /mentor-slots/<slot_id>/cancel-booking                  login deny  deny  deny  deny  pass  pass  deny  pass
GET    /api/v1/ideas                                           public
POST   /api/v1/ideas                                           user-pass
GET    /api/v1/ideas/<idea_id>                                 public
POST   /api/v1/ideas/<idea_id>/adoptions                       login deny  deny  deny  deny  pass  deny  deny  pass  # body names the founder's project
POST   /api/v1/ideas/<idea_id>/comments                        user-pass
POST   /api/v1/ideas/<idea_id>/votes                           user-pass
GET    /ideas/                                                 public
POST   /ideas/                                                 user-pass
GET    /ideas/<idea_id>                                        public
POST   /ideas/<idea_id>/adopt                                  login refused refused refused refused pass refused refused pass  # HTML offers only one's own projects
POST   /ideas/<idea_id>/comments                               user-pass
POST   /ideas/<idea_id>/vote                                   user-pass
# ---- resources (API) -----------------------------------------------------------------------------------------------
GET    /api/v1/resources                                       public
POST   /api/v1/resources                                       login deny  deny  deny  ok    deny  deny  deny  ok    # body names A
POST   /api/v1/resources@unverified                            login deny  unv   deny  deny  deny  deny  deny  unv   organisation_id=unverified_org_id
GET    /api/v1/resources/idle-capacity                         public
GET    /api/v1/resources/<resource_id>                         public
GET    /api/v1/resources/<resource_id>/availability            public-pass
GET    /api/v1/resources/<resource_id>/reviews                 public
GET    /api/v1/resources/<resource_id>/calendar.ics            deny  deny  deny  deny  deny  deny  deny  deny  deny  # the feed token is the credential; none sent
POST   /api/v1/resources/<resource_id>/publication             login deny  deny  deny  ok    deny  deny  deny  ok
PUT    /api/v1/resources/<resource_id>/booking-policy          login deny  deny  deny  pass  deny  deny  deny  pass
PUT    /api/v1/resources/<resource_id>/prices                  login deny  deny  deny  pass  deny  deny  deny  pass
PUT    /api/v1/resources/<resource_id>/terms                   login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/resources/<resource_id>/calendar-token          login deny  deny  deny  ok    deny  deny  deny  ok
GET    /api/v1/resources/<resource_id>/blackouts               login deny  deny  deny  ok    deny  deny  deny  ok
POST   /api/v1/resources/<resource_id>/blackouts               login deny  deny  deny  pass  deny  deny  deny  pass
PUT    /api/v1/resources/<resource_id>/blackouts/<blackout_id> login deny  deny  deny  pass  deny  deny  deny  pass
DELETE /api/v1/resources/<resource_id>/blackouts/<blackout_id> login deny  deny  deny  ok    deny  deny  deny  ok
POST   /api/v1/resources/<resource_id>/exceptions              login deny  deny  deny  pass  deny  deny  deny  pass
PUT    /api/v1/resources/<resource_id>/exceptions/<exception_id>    login deny deny deny pass deny deny deny pass
DELETE /api/v1/resources/<resource_id>/exceptions/<exception_id>    login deny deny deny ok   deny deny deny ok
GET    /api/v1/resources/<resource_id>/problems                login deny  deny  deny  ok    deny  deny  deny  ok
POST   /api/v1/resources/<resource_id>/problems                user-pass
POST   /api/v1/resources/<resource_id>/problems/<report_id>/resolve login deny deny deny pass deny deny deny pass
POST   /api/v1/resources/<resource_id>/qualifications          login deny  deny  deny  pass  deny  deny  deny  pass
GET    /api/v1/resources/<resource_id>/training-requests       login deny  deny  deny  ok    deny  deny  deny  ok
POST   /api/v1/resources/<resource_id>/training-requests       user-pass
POST   /api/v1/resources/<resource_id>/training-requests/<request_id>/decline login deny deny deny pass deny deny deny pass
POST   /api/v1/resources/<resource_id>/bookings                user-pass
POST   /api/v1/resources/<resource_id>/bookings/preview        user-pass
POST   /api/v1/resources/<resource_id>/waitlist                user-pass
GET    /api/v1/waitlist                                        user
DELETE /api/v1/waitlist/<entry_id>                             login deny  deny  deny  deny  ok    deny  deny  deny  # only the person waiting
GET    /api/v1/approvals                                       login hidden hidden hidden seen hidden hidden hidden any  look=booking_id
GET    /api/v1/bookings                                        user
GET    /api/v1/bookings/calendar.ics                           deny  deny  deny  deny  deny  deny  deny  deny  deny  # feed token is the credential
GET    /api/v1/bookings/<booking_id>                           login deny  deny  deny  ok    ok    deny  deny  ok
GET    /api/v1/bookings/<booking_id>/history                   login deny  deny  deny  ok    ok    deny  deny  ok
POST   /api/v1/bookings/<booking_id>/approve                   login deny  deny  deny  ok    deny  deny  deny  ok    # staff of the owning, verified company
POST   /api/v1/bookings/<booking_id>/reject                    login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/bookings/<booking_id>/complete                  login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/bookings/<booking_id>/no-show                   login deny  deny  deny  pass  deny  deny  deny  pass
POST   /api/v1/bookings/<booking_id>/cancel                    login deny  deny  deny  pass  pass  deny  deny  pass  # booker or staff
POST   /api/v1/bookings/<booking_id>/review                    login deny  deny  deny  deny  pass  deny  deny  deny  # the booker only
POST   /api/v1/me/booking-calendar                             user
# ---- resources (HTML) ----------------------------------------------------------------------------------------------
GET    /resources/                                             public
GET    /resources/idle                                         public
GET    /resources/new                                          login refused ok ok    ok    refused refused refused ok    # unverified may prepare a draft
POST   /resources/new                                          login refused pass pass pass refused refused refused pass  # empty form
GET    /resources/<resource_id>                                public
GET    /resources/<resource_id>/calendar                       public
GET    /resources/<resource_id>/calendar/events                public-pass  # no start/end: 400
GET    /resources/<resource_id>/calendar/quote                 public-pass  # no start/end: 400
GET    /resources/<resource_id>/photos/<photo_id>              public
POST   /resources/<resource_id>/photos                         login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/publication                    login deny  deny  deny  pass  deny  deny  deny  pass
GET    /resources/<resource_id>/manage                         login deny  deny  deny  ok    deny  deny  deny  ok
POST   /resources/<resource_id>/manage                         login deny  deny  deny  pass  deny  deny  deny  pass
GET    /resources/<resource_id>/prices                         login deny  deny  deny  ok    deny  deny  deny  ok
POST   /resources/<resource_id>/prices                         login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/blackouts/<blackout_id>        login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/exceptions/<exception_id>      login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/calendar-feed                  login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/problems                       user-pass
POST   /resources/<resource_id>/problems/<report_id>/resolve   login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/training                       user-pass
POST   /resources/<resource_id>/training/<request_id>/decline  login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/<resource_id>/book                           user-pass
POST   /resources/<resource_id>/waitlist                       user-pass
POST   /resources/waitlist/<entry_id>/withdraw                 login deny  deny  deny  deny  pass  deny  deny  deny
GET    /resources/approvals                                    login hidden hidden hidden seen hidden hidden hidden any  look=booking_purpose
GET    /resources/bookings                                     user
POST   /resources/bookings/calendar-feed                       user-pass
GET    /resources/bookings/<booking_id>                        login deny  deny  deny  ok    ok    deny  deny  ok
POST   /resources/bookings/<booking_id>/approve                login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/bookings/<booking_id>/reject                 login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/bookings/<booking_id>/finish                 login deny  deny  deny  pass  deny  deny  deny  pass
POST   /resources/bookings/<booking_id>/cancel                 login deny  deny  deny  pass  pass  deny  deny  pass
POST   /resources/bookings/<booking_id>/review                 login deny  deny  deny  deny  pass  deny  deny  deny
GET    /resources/statements/<organisation_id>                 login deny  deny  deny  ok    deny  deny  deny  ok
GET    /resources/statements/<organisation_id>.csv             login deny  deny  deny  ok    deny  deny  deny  ok
GET    /resources/utilisation/<organisation_id>                login deny  deny  deny  ok    deny  deny  deny  ok
# ---- funding: campaigns and pledges (API) --------------------------------------------------------------------------
GET    /api/v1/campaigns                                       public
POST   /api/v1/campaigns                                       login deny  deny  deny  deny  pass  deny  deny  pass  # body names the founder's project
GET    /api/v1/campaigns/<campaign_id>                         public
POST   /api/v1/campaigns/<campaign_id>/approve                 admin
POST   /api/v1/campaigns/<campaign_id>/reject                  admin
POST   /api/v1/campaigns/<campaign_id>/cancel                  login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/campaigns/<campaign_id>/submit                  login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/campaigns/<campaign_id>/rewards                 login deny  deny  deny  deny  pass  deny  deny  pass
POST   /api/v1/campaigns/<campaign_id>/stretch-goals           login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/campaigns/<campaign_id>/updates                 public
POST   /api/v1/campaigns/<campaign_id>/updates                 login deny  deny  deny  deny  pass  deny  deny  pass
GET    /api/v1/campaigns/<campaign_id>/comments                public
POST   /api/v1/campaigns/<campaign_id>/comments                user-pass
GET    /api/v1/campaigns/<campaign_id>/ledger                  public
POST   /api/v1/campaigns/<campaign_id>/match-funds             login deny  deny  deny  ok    deny  deny  deny  ok    # body names A (verified)
POST   /api/v1/campaigns/<campaign_id>/match-funds@unverified  login deny  unv   deny  deny  deny  deny  deny  unv   organisation_id=unverified_org_id
POST   /api/v1/campaigns/<campaign_id>/pledges                 login pass  ok    ok    ok    own   ok    ok    ok    # no self-dealing
POST   /api/v1/campaigns/<campaign_id>/setup-intents           user
GET    /api/v1/pledges                                         user
GET    /api/v1/pledges/<pledge_id>                             login ok    deny  deny  deny  deny  deny  deny  ok    # the backer's own
PATCH  /api/v1/pledges/<pledge_id>                             login pass  deny  deny  deny  deny  deny  deny  pass
POST   /api/v1/pledges/<pledge_id>/authenticate                login pass  deny  deny  deny  deny  deny  deny  pass
POST   /api/v1/pledges/<pledge_id>/cancel                      login pass  deny  deny  deny  deny  deny  deny  pass
POST   /api/v1/pledges/<pledge_id>/payment-method              login pass  deny  deny  deny  deny  deny  deny  pass
POST   /api/v1/pledges/<pledge_id>/survey                      login pass  deny  deny  deny  deny  deny  deny  pass
POST   /api/v1/pledges/<pledge_id>/refund                      login deny  deny  deny  deny  pass  deny  deny  pass  # creators may refund a backer (point 5)
# ---- funding: financing applications -------------------------------------------------------------------------------
POST   /api/v1/financing-applications                          login deny  deny  deny  deny  ok    deny  deny  pass  # body names the founder's project, addressed to A
GET    /api/v1/financing-applications                          login hidden hidden hidden seen seen  hidden hidden seen  look=financing_id
GET    /api/v1/financing-applications/<application_id>         login deny  deny  deny  ok    ok    deny  deny  ok    application_id=financing_id
POST   /api/v1/financing-applications/<application_id>/decision  login deny deny deny pass deny deny deny pass   application_id=financing_id  # the addressee's staff
GET    /financing/                                             login hidden hidden hidden seen seen  hidden hidden seen  look=financing_terms
POST   /financing/                                             login deny  deny  deny  deny  pass  deny  deny  pass  # form names the founder's project
POST   /financing/<application_id>/decision                    login deny  deny  deny  pass  deny  deny  deny  pass  application_id=financing_id
POST   /api/v1/financing-applications/<application_id>/reviews login deny  deny  deny  pass  deny  deny  deny  pass  application_id=financing_id  # scored by the addressee's staff
POST   /financing/<application_id>/review                      login deny  deny  deny  pass  deny  deny  deny  pass  application_id=financing_id
# ---- funding (HTML) ------------------------------------------------------------------------------------------------
GET    /campaigns/                                             public
GET    /campaigns/new                                          login any   any   any   any   ok    any   any   ok
POST   /campaigns/new                                          login deny  deny  deny  deny  pass  deny  deny  pass  # form names the founder's project
GET    /campaigns/<campaign_id>                                public
GET    /campaigns/<campaign_id>/media                          public   # no media uploaded: back to the campaign
GET    /campaigns/<campaign_id>/ledger                         public
GET    /campaigns/<campaign_id>/ledger.csv                     login deny  deny  deny  deny  ok    deny  deny  ok
GET    /campaigns/<campaign_id>/backers.csv                    login deny  deny  deny  deny  ok    deny  deny  ok
GET    /campaigns/<campaign_id>/manage                         login deny  deny  deny  deny  ok    deny  deny  ok
POST   /campaigns/<campaign_id>/manage                         login deny  deny  deny  deny  pass  deny  deny  pass
POST   /campaigns/<campaign_id>/gallery                        login deny  deny  deny  deny  pass  deny  deny  pass  # no file: 400 for the team
POST   /campaigns/<campaign_id>/gallery/<image_id>/remove      login deny  deny  deny  deny  pass  deny  deny  pass  image_id=gallery_image_id
POST   /campaigns/<campaign_id>/approve                        admin
POST   /campaigns/<campaign_id>/reject                         admin
POST   /campaigns/<campaign_id>/settle                         admin
POST   /campaigns/<campaign_id>/comments                       user-pass
GET    /campaigns/<campaign_id>/pledge                         login ok    ok    ok    ok    any   ok    ok    ok
POST   /campaigns/<campaign_id>/pledge                         login pass  pass  pass  pass  own   pass  pass  pass
GET    /pledges/                                               user
GET    /pledges/<pledge_id>                                    login ok    deny  deny  deny  deny  deny  deny  ok
POST   /pledges/<pledge_id>                                    login pass  deny  deny  deny  deny  deny  deny  pass
GET    /pledges/<pledge_id>/authenticate                       login pass  deny  deny  deny  deny  deny  deny  pass
POST   /pledges/<pledge_id>/authenticate                       login pass  deny  deny  deny  deny  deny  deny  pass
POST   /campaigns/<campaign_id>/pledges/<pledge_id>/refund     login deny  deny  deny  deny  pass  deny  deny  pass  # creators refund a backer (point 5)
POST   /funding/stripe/webhook                                 400   400   400   400   400   400   400   400   400   # the signature is the credential
# ---- search --------------------------------------------------------------------------------------------------------
GET    /api/v1/search                                          public
GET    /api/v1/search/suggest                                  public
GET    /search                                                 public
GET    /search/suggest                                         public
# ---- transparency ---------------------------------------------------------------------------------------------------
GET    /transparency/audit                                     public
GET    /transparency/audit/verify_receipt.py                   public
GET    /api/v1/audit/checkpoints                               public
# ---- notifications (the world's notice is the outsider's) ----------------------------------------------------------
GET    /api/v1/notifications                                   user
POST   /api/v1/notifications/read                              user
POST   /api/v1/notifications/<notification_id>/read            login ok    deny  deny  deny  deny  deny  deny  deny  # the recipient only, not even admin
GET    /notifications/                                         user
GET    /notifications/preferences                              user
POST   /notifications/preferences                              user-pass
POST   /notifications/read-all                                 user
GET    /notifications/<notification_id>/open                   login ok    deny  deny  deny  deny  deny  deny  deny
POST   /notifications/<notification_id>/read                   login ok    deny  deny  deny  deny  deny  deny  deny
GET    /notifications/unsubscribe/<token>                      400   400   400   400   400   400   400   400   400  # the signed link is the authority; a bad one is 400 for all
POST   /notifications/unsubscribe/<token>                      400   400   400   400   400   400   400   400   400
"""

MACROS = {
    "public": ["ok"] * 9,
    "public-pass": ["pass"] * 9,
    "user": ["login"] + ["ok"] * 8,
    "user-pass": ["login"] + ["pass"] * 8,
    "admin": ["login"] + ["deny"] * 7 + ["pass"],
}
TOKENS = {"ok", "pass", "login", "deny", "refused", "nda", "seen", "hidden", "own", "unv", "coi", "any"}
SKIPPED_ENDPOINTS = {"static", "funding.static", "search.static"}  # files, not decisions


# ---- request bodies ------------------------------------------------------------------------------------------------

def resource_body(organisation_id: int) -> dict:
    return {"organisation_id": organisation_id, "name": "Copycat lab", "kind": "lab", "description": "Looks real",
            "city": "Qingdao", "timezone": "Asia/Shanghai",
            "prices": [{"audience": "external", "unit": "hour", "amount": 10000, "currency": "CNY"}],
            "min_minutes": 30, "max_minutes": 240, "buffer_minutes": 0, "advance_days": 60,
            "requires_approval": False, "requires_qualification": False,
            "opening_hours": [{"weekday": 0, "start": "09:00", "end": "18:00"}]}


def _program_body(ids) -> dict:
    from portal.db import utcnow

    now = utcnow()
    return {"organisation_id": ids["organisation_id"], "title": "Copycat accelerator", "mode": "internal",
            "description": "Twelve weeks", "opens_at": (now - timedelta(days=1)).isoformat(),
            "closes_at": (now + timedelta(days=30)).isoformat(), "capacity": 5,
            "criteria": [{"name": "Team", "weight": 1}]}


def _campaign_body(ids) -> dict:
    from portal.db import utcnow

    return {"project_id": ids["incubating_project_id"], "title": "Second run",
            "goal": {"amount": 50_000_00, "currency": "CNY"},
            "deadline": (utcnow() + timedelta(days=20)).isoformat(), "funding_model": "all_or_nothing"}


BODIES = {
    "POST /api/v1/admin/organisations/<organisation_id>/verification": lambda ids: {"verified": True, "note": "ok"},
    "POST /api/v1/organisations/<organisation_id>/members": lambda ids: {"email": ids["email:reviewer"],
                                                                         "role": "member"},
    "POST /api/v1/projects": lambda ids: {"organisation_id": ids["startup_id"], "title": "Another", "summary": "s",
                                          "industry": "Smart home", "stage": "idea", "mode": "open_source"},
    "POST /api/v1/projects/<project_id>/transitions": lambda ids: {"status": "screening", "note": "Looks fine"},
    "POST /projects/<project_id>/transition": lambda ids: {"status": "screening", "note": "Looks fine"},
    "POST /api/v1/programs": _program_body,
    "POST /api/v1/programs@unverified": _program_body,
    "POST /api/v1/programs/<program_id>/applications": lambda ids: {"project_id": ids["project_id"]},
    "POST /programs/<program_id>/apply": lambda ids: {"project_id": ids["project_id"]},
    "POST /api/v1/applications/<application_id>/reviews": lambda ids: {
        "scores": {"Market": 4, "Team": 3}, "recommendation": "yes", "comment": "Solid"},
    "POST /api/v1/ideas/<idea_id>/adoptions": lambda ids: {"project_id": ids["project_id"]},
    "POST /ideas/<idea_id>/adopt": lambda ids: {"project_id": ids["project_id"]},
    "POST /api/v1/resources": lambda ids: resource_body(ids["organisation_id"]),
    "POST /api/v1/resources@unverified": lambda ids: resource_body(ids["organisation_id"]),
    "POST /api/v1/resources/<resource_id>/publication": lambda ids: {"published": True},
    "POST /api/v1/bookings/<booking_id>/approve": lambda ids: {},
    "POST /api/v1/campaigns": _campaign_body,
    "POST /campaigns/new": lambda ids: {"project_id": ids["incubating_project_id"]},
    "POST /api/v1/campaigns/<campaign_id>/match-funds": lambda ids: {"organisation_id": ids["organisation_id"],
                                                                     "cap": 10_000_00},
    "POST /api/v1/campaigns/<campaign_id>/match-funds@unverified": lambda ids: {
        "organisation_id": ids["organisation_id"], "cap": 10_000_00},
    "POST /api/v1/campaigns/<campaign_id>/pledges": lambda ids: {"amount": 1000_00,
                                                                 "payment_method": "4242424242424242"},
    "POST /campaigns/<campaign_id>/pledge": lambda ids: {"amount": "1000.00", "payment_method": "4242424242424242"},
    "POST /api/v1/financing-applications": lambda ids: {
        "project_id": ids["project_id"], "amount": {"amount": 100_000_00, "currency": "CNY"},
        "use_of_funds": "Tooling", "terms": "8% for 100k", "organisation_id": ids["organisation_id"]},
    "POST /financing/": lambda ids: {"project_id": ids["project_id"]},
    "POST /api/v1/financing-applications/<application_id>/decision": lambda ids: {"decision": "approved",
                                                                                  "note": "Convincing"},
    "POST /financing/<application_id>/decision": lambda ids: {"decision": "approved", "note": "Convincing"},
    "POST /api/v1/former-employments": lambda ids: {"company_id": ids["organisation_id"], "position": "Engineer"},
}


# ---- parsing -------------------------------------------------------------------------------------------------------

@dataclass
class Row:
    key: str
    method: str
    path: str  # without the @variant
    cells: tuple[str, ...]
    options: dict[str, str] = field(default_factory=dict)
    comment: str = ""

    @property
    def api(self) -> bool:
        return self.path.startswith("/api/")

    def _body(self, ids) -> dict | None:
        make = BODIES.get(self.key)
        if make is None:
            return None
        scoped = dict(ids)
        for name, value in self.options.items():
            if name in ids or name.endswith("_id"):
                scoped[name] = ids.get(value, value)
        return make(scoped)

    def json(self, ids) -> dict | None:
        return self._body(ids) if self.api else None

    def form(self, ids) -> dict | None:
        return None if self.api else self._body(ids)


_LINE = re.compile(r"^(GET|POST|PUT|PATCH|DELETE)\s+(\S+)\s+(.*)$")


def _parse() -> dict[str, Row]:
    rows: dict[str, Row] = {}
    for number, raw in enumerate(TABLE.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        body, _, comment = line.partition("#")
        match = _LINE.match(body.strip())
        assert match, f"authz table line {number}: {raw!r}"
        method, key_path, rest = match.groups()
        words = rest.split()
        if words and words[0] in MACROS:
            cells, words = list(MACROS[words[0]]), words[1:]
        else:
            cells, words = words[:9], words[9:]
        assert len(cells) == 9, f"authz table line {number}: nine cells, got {cells}"
        for cell in cells:
            assert cell in TOKENS or re.fullmatch(r"\d{3}", cell), f"authz table line {number}: {cell!r}"
        options = dict(word.split("=", 1) for word in words)
        key = f"{method} {key_path}"
        assert key not in rows, f"authz table line {number}: {key} twice"
        rows[key] = Row(key, method, key_path.split("@")[0], tuple(cells), options, comment.strip())
    return rows


_ROWS: dict[str, Row] | None = None


def rows() -> dict[str, Row]:
    global _ROWS
    if _ROWS is None:
        _ROWS = _parse()
    return _ROWS


def _normalise(rule: str) -> str:
    return re.sub(r"<(?:[^:<>]+:)?(\w+)>", r"<\1>", rule)


_ROUTED: dict[int, set[str]] = {}


def routed_keys(app) -> set[str]:
    if id(app) not in _ROUTED:
        _ROUTED[id(app)] = _routed_keys(app)
    return _ROUTED[id(app)]


def _routed_keys(app) -> set[str]:
    keys = set()
    for rule in app.url_map.iter_rules():
        if rule.endpoint in SKIPPED_ENDPOINTS:
            continue
        for method in rule.methods - {"HEAD", "OPTIONS"}:
            keys.add(f"{method} {_normalise(rule.rule)}")
    return keys | {key for key in rows() if "@" in key and key.split("@")[0] in keys}


def url_for_row(row: Row, ids: dict) -> str:
    def fill(match: re.Match) -> str:
        name = match.group(1)
        source = row.options.get(name, name)
        assert source in ids, f"{row.key}: no world object for <{name}>"
        return str(ids[source])

    return re.sub(r"<(\w+)>", fill, row.path)


# ---- judging a response --------------------------------------------------------------------------------------------

def _to_login(response) -> bool:
    return 300 <= response.status_code < 400 and "/auth/login" in response.headers.get("Location", "")


def _danger(flashes) -> bool:
    return any(category in ("danger", "error") for category, _message in flashes)


def _error_code(response) -> str | None:
    data = response.get_json(silent=True)
    if isinstance(data, dict) and isinstance(data.get("error"), dict):
        return data["error"].get("code")
    return None


def _listed(response, row: Row, ids: dict, api: bool) -> bool:
    target = ids[row.options["look"]]
    if api:
        data = response.get_json(silent=True) or {}
        return any(isinstance(item, dict) and item.get("id") == target for item in data.get("items", []))
    return str(target) in response.get_data(as_text=True)


def describe(response, flashes, api: bool) -> str:
    text = str(response.status_code)
    if response.status_code >= 300 and response.status_code < 400:
        text += f" -> {response.headers.get('Location', '?')}"
    code = _error_code(response)
    if code:
        text += f" {code}"
    if flashes:
        text += f" flashes={flashes}"
    return text


def matches(expected: str, response, flashes, api: bool, row: Row | None = None, ids: dict | None = None) -> bool:
    status = response.status_code
    if status >= 500:
        return False
    ok = (200 <= status < 300) or (300 <= status < 400 and not _to_login(response) and not _danger(flashes))
    if expected == "any":
        return True
    if expected == "ok":
        return ok
    if expected == "pass":
        return ok or status in (400, 409) or (300 <= status < 400 and not _to_login(response))
    if expected == "login":
        return status == 401 if api else (_to_login(response) or status == 401)
    if expected == "deny":
        return status in (403, 404)
    if expected == "refused":
        if status in (403, 404):
            return True
        categories = {category for category, _message in flashes}
        return (not api and 300 <= status < 400 and not _to_login(response) and "success" not in categories
                and bool(categories & {"danger", "error", "info", "warning"}))
    if expected == "nda":
        return status in (403, 404) or (not api and 300 <= status < 400 and "/nda/accept" in response.headers.get(
            "Location", ""))
    if expected in ("seen", "hidden"):
        return status == 200 and _listed(response, row, ids, api) == (expected == "seen")
    special = {"own": (403, "own_campaign"), "unv": (409, "organisation_unverified"),
               "coi": (409, "conflict_of_interest")}
    if expected in special:
        want_status, want_code = special[expected]
        if api:
            return status == want_status and _error_code(response) == want_code
        return status == want_status or (300 <= status < 400 and _danger(flashes))
    return status == int(expected)
