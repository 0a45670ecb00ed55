// The clickable time grids, drawn with FullCalendar (vendored under static/vendor/fullcalendar, MIT):
// - booking a resource (resources/templates/resources/calendar.html): free time, closures, bookings
//   (other people's only as "Booked"); a click or a drag on free time, snapped to the resource's step,
//   fills the booking form and shows the price (and each weekly occurrence of a series) before booking;
//   staff open a pending request to approve or reject it;
// - painting a mentor's office hours (incubation/templates/incubation/mentor_me.html), with weekly repeats.
// Each page carries its settings as JSON in a <script type="application/json"> (the Content-Security-Policy
// forbids inline scripts). Without JavaScript the forms' start and end fields do the same job.
(function () {
  "use strict";
  if (typeof FullCalendar === "undefined") return;

  // The grids run in FullCalendar's "UTC" zone as floating wall-clock time: the server sends and reads the
  // resource's (or the mentor's) local times without an offset, as the forms' datetime-local fields do.
  const pad = (n) => String(n).padStart(2, "0");
  const wall = (date) => date.toISOString().slice(0, 16);
  const dayOf = (date) => date.toISOString().slice(0, 10);
  const parseWall = (text) => new Date(`${text.slice(0, 16)}:00Z`);
  const duration = (minutes) => `${pad(Math.floor(minutes / 60))}:${pad(minutes % 60)}:00`;
  const WEEK = 7 * 24 * 60 * 60 * 1000;
  const locale = (document.documentElement.lang || "en").toLowerCase().startsWith("zh") ? "zh-cn" : "en-gb";
  const narrow = () => window.matchMedia("(max-width: 767.98px)").matches;
  const dayFormat = new Intl.DateTimeFormat(locale, { weekday: "short", month: "short", day: "numeric", timeZone: "UTC" });
  const timeFormat = new Intl.DateTimeFormat(locale, { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZone: "UTC" });
  const range = (start, end) => `${dayFormat.format(start)} ${timeFormat.format(start)}–${timeFormat.format(end)}`;

  function readConfig(id) {
    const el = document.getElementById(id);
    try {
      return el ? JSON.parse(el.textContent) : null;
    } catch (error) {
      return null;
    }
  }

  function element(tag, className, text) {
    const el = document.createElement(tag);
    if (className) el.className = className;
    if (text !== undefined) el.textContent = text;
    return el;
  }

  function jsonSource(url) {
    return (info, success, failure) => {
      const query = new URLSearchParams({ start: dayOf(info.start), end: dayOf(info.end) });
      fetch(`${url}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => (response.ok ? response.json() : Promise.reject(new Error(String(response.status)))))
        .then(success, failure);
    };
  }

  // Events that open something (a booking, a decision) are reachable from the keyboard too.
  function keyboardReachable(info) {
    const props = info.event.extendedProps || {};
    if (!props.url && !props.decide) return;
    info.el.setAttribute("tabindex", "0");
    info.el.setAttribute("role", "button");
    info.el.addEventListener("keydown", (event) => {
      if (event.key === "Enter" || event.key === " ") {
        event.preventDefault();
        info.el.click();
      }
    });
  }

  function baseOptions(config) {
    return {
      timeZone: "UTC",
      locale,
      firstDay: 1,
      allDaySlot: false,
      nowIndicator: false,
      initialView: narrow() ? "timeGridDay" : "timeGridWeek",
      initialDate: config.initialDate,
      headerToolbar: { left: "prev,next today", center: "title", right: "timeGridWeek,timeGridDay" },
      // Words, not the icon font (its data: URL is blocked by the Content-Security-Policy's font-src).
      buttonIcons: false,
      buttonText: config.buttons || {},
      height: "auto",
      stickyHeaderDates: false,  // a header stuck over the slots would catch a drag meant for them
      slotMinTime: config.slotMinTime || "07:00:00",
      slotMaxTime: config.slotMaxTime || "22:00:00",
      slotLabelFormat: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
      eventTimeFormat: { hour: "2-digit", minute: "2-digit", hourCycle: "h23" },
      selectable: true,
      selectMirror: true,
      unselectAuto: false,
      selectLongPressDelay: 250,
      eventDidMount: keyboardReachable,
      // The toolbar's chevrons are decorative (the buttons carry the name): hide them from assistive technology.
      datesSet(arg) {
        arg.view.calendar.el.querySelectorAll(".fc-icon[role=img]").forEach((icon) => {
          icon.removeAttribute("role");
          icon.setAttribute("aria-hidden", "true");
        });
      },
      windowResize(arg) {
        const wanted = narrow() ? "timeGridDay" : "timeGridWeek";
        if (arg.view.type !== wanted) arg.view.calendar.changeView(wanted);
      },
    };
  }

  function replaceMarks(calendar, events) {
    const old = calendar.getEventSourceById("marks");
    if (old) old.remove();
    calendar.addEventSource({ id: "marks", events });
  }

  // ---- booking a resource ------------------------------------------------------------------------

  function bookingGrid(config) {
    const panel = document.getElementById("booking-grid-panel");
    const el = document.getElementById("booking-grid");
    if (!panel || !el) return;
    const labels = config.labels;
    const form = document.getElementById("booking-form");
    const field = (selector) => (form ? form.querySelector(selector) : null);
    const startField = field("#start");
    const endField = field("#end");
    const repeatField = field("[name=repeat_weeks]");
    const organisationField = field("[name=organisation_id]");
    const quoteBox = document.getElementById("grid-quote");
    const decisionBox = document.getElementById("grid-decision");
    const step = config.step || 30;
    let ticket = null;

    panel.hidden = false;
    const nav = document.getElementById("calendar-nav");  // the list's week/month links: the grid pages itself
    if (nav) nav.hidden = true;
    const list = document.getElementById("calendar-list");
    if (list) {
      list.open = false;  // the list stays one click away (and is what screen readers may prefer)
      const summary = list.querySelector("summary");
      if (summary) summary.hidden = false;
    }

    const markEvents = (occurrences, selected) => occurrences.map((m) => ({
      start: m.start,
      end: m.end,
      title: m.ok ? (selected ? labels.selected : labels.requested) : `${labels.clash}${m.note ? `: ${m.note}` : ""}`,
      classNames: ["cal-mark", m.ok ? "cal-selected" : "cal-clash"],
      extendedProps: { kind: "mark" },
    }));

    function showQuote(body) {
      const box = quoteBox.querySelector(".card-body");
      box.replaceChildren();
      const first = body.occurrences[0];
      const line = element("div", "d-flex flex-wrap gap-2 align-items-baseline");
      line.append(element("strong", "", `${labels.selected}: ${range(parseWall(first.start), parseWall(first.end))}`));
      if (body.priced) {
        const price = element("span", "fs-6", `${labels.price}: `);
        price.append(element("strong", "", body.total));
        price.id = "grid-price";
        line.append(price);
        if (body.unit && body.count === 1) line.append(element("span", "text-secondary", `(${body.unit})`));
      } else {
        line.append(element("span", "", labels.priceOnRequest));
      }
      box.append(line);
      if (body.credit) {
        box.append(element("div", "text-success", `${labels.credit}: −${body.credit} · ${labels.due}: ${body.total_due}`));
      }
      if (body.count > 1) {
        box.append(element("div", "mt-1", labels.occurrences.replace("%(ok)s", body.ok).replace("%(n)s", body.count)));
        const rows = element("ol", "mb-0 ps-3");
        rows.id = "grid-series";
        body.occurrences.forEach((m) => {
          const row = element("li", m.ok ? "" : "text-danger",
            `${range(parseWall(m.start), parseWall(m.end))} · ${m.ok ? m.price : `${labels.clash}: ${m.note}`}`);
          rows.append(row);
        });
        box.append(rows);
      } else if (!first.ok) {
        box.append(element("div", "text-danger", first.note));
      }
      if (!config.canBook) box.append(element("div", "mt-1", labels.loginToBook));
      quoteBox.hidden = false;
      replaceMarks(calendar, markEvents(body.occurrences, true));
    }

    function showError(body) {
      const box = quoteBox.querySelector(".card-body");
      const messages = [body.error || labels.failed];
      Object.values(body.fields || {}).forEach((list) => list.forEach((m) => { if (!messages.includes(m)) messages.push(m); }));
      box.replaceChildren(element("div", "text-danger", messages.join(" ")));
      quoteBox.hidden = false;
    }

    function quote(start, end) {
      if (!start || !end) return;
      const query = new URLSearchParams({
        start, end,
        repeat_weeks: repeatField && repeatField.value ? repeatField.value : "1",
        organisation_id: organisationField ? organisationField.value : "",
      });
      const mine = ticket = {};
      fetch(`${config.quoteUrl}?${query}`, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then((response) => response.json().then((body) => ({ ok: response.ok, body })))
        .then(({ ok, body }) => {
          if (mine !== ticket) return;  // a newer selection answered first
          if (ok) showQuote(body); else showError(body);
        })
        .catch(() => { if (mine === ticket) showError({}); });
    }

    function choose(start, end) {
      let finish = end;
      if ((finish - start) / 60000 < config.minMinutes) finish = new Date(start.getTime() + config.minMinutes * 60000);
      if (startField && endField) {
        startField.value = wall(start);
        endField.value = wall(finish);
      }
      quote(wall(start), wall(finish));
    }

    function showDecision(decide, event) {
      if (!decisionBox) return;
      decisionBox.hidden = false;
      decisionBox.querySelector("[data-decision-summary]").textContent = `${decide.summary} · ${range(event.start, event.end)}`;
      decisionBox.querySelector("[data-decision-purpose]").textContent = decide.purpose;
      const clashes = decisionBox.querySelector("[data-decision-clashes]");
      clashes.hidden = !decide.clashes.length;
      clashes.querySelector("span").textContent = decide.clashes.join(", ");
      const next = `${config.pageUrl}?date=${dayOf(event.start)}`;
      decisionBox.querySelectorAll("form").forEach((f) => {
        f.action = f.getAttribute("data-decision") === "approve" ? decide.approve : decide.reject;
        f.querySelector("[name=next]").value = next;
      });
      const confirm = decisionBox.querySelector("[data-decision-confirm]");
      confirm.hidden = !decide.clashes.length;
      confirm.querySelector("input").required = decide.clashes.length > 0;
      decisionBox.scrollIntoView({ block: "nearest" });
      decisionBox.querySelector("button").focus({ preventScroll: true });
    }

    const calendar = new FullCalendar.Calendar(el, Object.assign(baseOptions(config), {
      slotDuration: duration(step >= 15 ? Math.min(step, 60) : 15),
      snapDuration: duration(step),
      selectConstraint: "free",
      eventSources: [{ id: "feed", events: jsonSource(config.eventsUrl) },
                     { id: "marks", events: markEvents(config.marks || [], false) }],
      select(info) {
        choose(info.start, info.end);
        info.view.calendar.unselect();
      },
      eventClick(info) {
        const props = info.event.extendedProps || {};
        if (props.decide) {
          info.jsEvent.preventDefault();
          showDecision(props.decide, info.event);
        } else if (props.url) {
          window.location.assign(props.url);
        }
      },
      eventSourceFailure() {
        const help = document.getElementById("booking-grid-help");
        if (help) help.textContent = labels.failed;
      },
    }));
    calendar.render();

    // The keyboard route: typed start and end (and the series and organisation) get the same price and marks.
    const typed = () => {
      if (!startField || !endField || !startField.value || !endField.value) return;
      calendar.gotoDate(startField.value.slice(0, 10));
      quote(startField.value, endField.value);
    };
    [startField, endField, repeatField, organisationField].forEach((f) => { if (f) f.addEventListener("change", typed); });
  }

  // ---- a mentor's office hours -------------------------------------------------------------------

  function officeHoursGrid(config) {
    const panel = document.getElementById("office-hours-panel");
    const el = document.getElementById("office-hours-grid");
    if (!panel || !el) return;
    const labels = config.labels;
    const form = document.getElementById("slot-form");
    const startField = form.querySelector("[name=start]");
    const endField = form.querySelector("[name=end]");
    const repeatField = form.querySelector("[name=repeat_weeks]");
    panel.hidden = false;

    function preview() {
      if (!startField.value || !endField.value) return;
      const start = parseWall(startField.value);
      const end = parseWall(endField.value);
      if (!(end > start)) return;
      const weeks = Math.max(1, Math.min(parseInt(repeatField && repeatField.value, 10) || 1, config.maxWeeks || 52));
      const events = [];
      for (let week = 0; week < weeks; week += 1) {
        events.push({ start: new Date(start.getTime() + week * WEEK), end: new Date(end.getTime() + week * WEEK),
                      title: labels.newSlot, classNames: ["cal-mark", "cal-selected"] });
      }
      replaceMarks(calendar, events);
      const note = document.getElementById("office-hours-selection");
      if (note) {
        note.textContent = weeks > 1 ? labels.repeats.replace("%(when)s", range(start, end)).replace("%(n)s", weeks)
          : labels.single.replace("%(when)s", range(start, end));
      }
    }

    const calendar = new FullCalendar.Calendar(el, Object.assign(baseOptions(config), {
      slotDuration: duration(config.slot || 30),
      snapDuration: duration(config.step || 15),
      selectOverlap: false,
      selectAllow: (info) => !config.now || info.start >= parseWall(config.now),  // no office hours in the past
      eventSources: [{ id: "feed", events: jsonSource(config.eventsUrl) },
                     { id: "marks", events: config.marks || [] }],
      select(info) {
        startField.value = wall(info.start);
        endField.value = wall(info.end);
        preview();
        info.view.calendar.unselect();
      },
      eventClick(info) {
        const props = info.event.extendedProps || {};
        if (props.url) window.location.assign(props.url);
      },
    }));
    calendar.render();
    [startField, endField, repeatField].forEach((f) => {
      if (f) f.addEventListener("change", () => {
        if (startField.value) calendar.gotoDate(startField.value.slice(0, 10));
        preview();
      });
    });
    if (startField.value && endField.value) preview();
  }

  const booking = readConfig("booking-grid-config");
  if (booking) bookingGrid(booking);
  const officeHours = readConfig("office-hours-config");
  if (officeHours) officeHoursGrid(officeHours);
}());
