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
