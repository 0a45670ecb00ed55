// Small behaviours, kept out of the HTML because the Content-Security-Policy forbids inline scripts.
// A control with data-autosubmit sends its form as soon as it changes, except a <select> changed from the
// keyboard: Chromium fires `change` at every arrow key on a closed select, and the language switcher must
// not navigate on the first ArrowDown. Keyboard users move through the options, then press Enter or the
// form's button (marked data-autosubmit-button, hidden until it has the focus once this script runs).
let keyboardSelect = null;
const OPENS_THE_LIST = (event) => event.key === " " || event.key === "F4" ||
  (event.altKey && (event.key === "ArrowDown" || event.key === "ArrowUp"));
const NOT_A_CHOICE = new Set(["Tab", "Shift", "Control", "Alt", "Meta", "Escape"]);
document.addEventListener("keydown", (event) => {
  const el = event.target;
  if (!(el instanceof HTMLSelectElement) || !el.matches("[data-autosubmit]")) return;
  if (event.key === "Enter") {
    event.preventDefault();
    el.form.requestSubmit();
  } else if (OPENS_THE_LIST(event)) {
    keyboardSelect = null;  // a choice made in the opened list is deliberate
  } else if (!NOT_A_CHOICE.has(event.key)) {
    keyboardSelect = el;
  }
});
document.addEventListener("pointerdown", () => { keyboardSelect = null; }, true);
document.addEventListener("change", (event) => {
  const el = event.target;
  if (!el.matches("[data-autosubmit]")) return;
  if (el instanceof HTMLSelectElement && keyboardSelect === el) return;
  el.form.requestSubmit();
});
document.querySelectorAll("[data-autosubmit-button]").forEach((button) => button.classList.add("visually-hidden-focusable"));
document.addEventListener("submit", (event) => {
  const message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) event.preventDefault();
});
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-target]");
  if (!button) return;
  const source = document.querySelector(button.getAttribute("data-copy-target"));
  if (source && navigator.clipboard) navigator.clipboard.writeText(source.textContent.trim());
});
// A select with data-fill-amount (the pledge form's reward) puts its chosen option's data-amount (the
// reward's minimum, in major units) into the amount field it names; the field stays editable.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (!el.matches("select[data-fill-amount]")) return;
  const option = el.selectedOptions[0];
  const amount = option ? option.getAttribute("data-amount") : null;
  const target = amount && el.form ? el.form.querySelector(el.getAttribute("data-fill-amount")) : null;
  if (target) target.value = amount;
});
// The navbar's search box: a combobox (WAI-ARIA 1.2) with suggestions from /search/suggest as one types.
// ArrowDown/ArrowUp move through them (aria-activedescendant), Enter opens the chosen one or searches for
// the typed words, Escape closes the list; a click opens a suggestion.
(() => {
  const input = document.getElementById("navbar-search-input");
  const list = document.getElementById("navbar-search-list");
  const status = document.getElementById("navbar-search-status");
  if (!input || !list || !window.fetch) return;
  let timer = null, asked = "", active = -1, controller = null;
  const options = () => [...list.querySelectorAll("[role=option]")];
  const close = () => {
    list.classList.remove("show");
    input.setAttribute("aria-expanded", "false");
    input.removeAttribute("aria-activedescendant");
    active = -1;
  };
  const highlight = (index) => {
    const all = options();
    if (!all.length) return;
    active = (index + all.length) % all.length;
    all.forEach((option, i) => {
      option.setAttribute("aria-selected", i === active ? "true" : "false");
      option.classList.toggle("active", i === active);
    });
    input.setAttribute("aria-activedescendant", all[active].id);
    all[active].scrollIntoView({block: "nearest"});
  };
  const show = (suggestions) => {
    list.replaceChildren();
    suggestions.forEach((item, i) => {
      // An option holds text only (no link inside: its children are presentational); it opens its data-url.
      const li = document.createElement("li");
      li.id = `navbar-search-option-${i}`;
      li.className = "dropdown-item";
      li.setAttribute("role", "option");
      li.setAttribute("aria-selected", "false");
      li.dataset.url = item.url;
      li.textContent = item.title;
      if (item.type) {
        const type = document.createElement("span");
        type.className = "suggestion-type d-block";
        type.textContent = item.type;
        li.appendChild(type);
      }
      list.appendChild(li);
    });
    active = -1;
    input.removeAttribute("aria-activedescendant");
    const open = suggestions.length > 0;
    list.classList.toggle("show", open);
    input.setAttribute("aria-expanded", open ? "true" : "false");
    if (status) {
      status.textContent = open ? status.dataset.some.replace("{n}", suggestions.length) : status.dataset.none;
    }
  };
  const ask = () => {
    const words = input.value.trim();
    if (words === asked) return;
    asked = words;
    if (!words) { show([]); return; }
    if (controller) controller.abort();
    controller = new AbortController();
    fetch(`${input.dataset.suggestUrl}?q=${encodeURIComponent(words)}`,
          {headers: {Accept: "application/json"}, signal: controller.signal})
      .then((response) => (response.ok ? response.json() : {suggestions: []}))
      .then((data) => { if (input.value.trim() === words) show(data.suggestions || []); })
      .catch(() => {});
  };
  input.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(ask, 150); });
  input.addEventListener("keydown", (event) => {
    const open = list.classList.contains("show");
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      if (!open && options().length) { list.classList.add("show"); input.setAttribute("aria-expanded", "true"); }
      highlight(active + (event.key === "ArrowDown" ? 1 : (active < 0 ? 0 : -1)));
    } else if (event.key === "Enter" && open && active >= 0) {
      event.preventDefault();
      window.location.assign(options()[active].dataset.url);
    } else if (event.key === "Escape" && open) {
      event.preventDefault();
      close();
    }
  });
  input.addEventListener("blur", () => setTimeout(close, 150));
  input.addEventListener("focus", () => {
    if (options().length && input.value.trim() === asked && asked) {
      list.classList.add("show");
      input.setAttribute("aria-expanded", "true");
    }
  });
  list.addEventListener("mousedown", (event) => event.preventDefault());  // keep the focus while clicking
  list.addEventListener("click", (event) => {
    const option = event.target.closest("[role=option]");
    if (option) window.location.assign(option.dataset.url);
  });
})();
