// Small behaviours, kept out of the HTML because the Content-Security-Policy forbids inline scripts.
document.addEventListener("change", (event) => {
  const el = event.target;
  if (el.matches("[data-autosubmit]")) el.form.requestSubmit();
});
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
