/* Forms that answer a refusal with a redirect (a comment on an idea, a support request, a review note...)
 * would lose what was typed. On submit, a POST form's text fields are kept in sessionStorage for a
 * minute; if the next page shows a refusal (an .alert-danger) and has the same form, empty, the text is put
 * back. A page without a refusal (the action worked) forgets it. Passwords, card numbers, tokens and
 * files are never kept. Forms may opt out with data-keep-input="off". */
(function () {
  "use strict";
  var KEY = "portal.keptInput";
  var MAX_AGE_MS = 60 * 1000;
  var SKIP = /password|csrf|token|card|payment_method|cvc|secret/i;

  function keepable(element) {
    if (!element.name || SKIP.test(element.name) || element.disabled) return false;
    if (element.tagName === "TEXTAREA") return true;
    if (element.tagName === "SELECT") return !element.multiple;
    if (element.tagName !== "INPUT") return false;
    return ["text", "email", "url", "number", "tel", "search", "date", "datetime-local", "time"]
      .indexOf(element.type) !== -1;
  }

  function formKey(form) {
    return (form.getAttribute("action") || window.location.pathname) + "#" + (form.id || "");
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!(form instanceof HTMLFormElement) || (form.method || "").toLowerCase() !== "post") return;
    if (form.dataset.keepInput === "off") return;
    var fields = {};
    Array.prototype.forEach.call(form.elements, function (element) {
      if (keepable(element) && element.value) fields[element.name] = element.value;
    });
    try {
      sessionStorage.setItem(KEY, JSON.stringify({form: formKey(form), fields: fields, at: Date.now()}));
    } catch (error) { /* storage full or disabled: nothing kept */ }
  }, true);

  document.addEventListener("DOMContentLoaded", function () {
    var kept;
    try {
      kept = JSON.parse(sessionStorage.getItem(KEY) || "null");
      sessionStorage.removeItem(KEY);
    } catch (error) {
      return;
    }
    if (!kept || Date.now() - kept.at > MAX_AGE_MS) return;
    if (!document.querySelector("main .alert-danger, main .is-invalid")) return;  // it worked
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
      if (formKey(form) !== kept.form) return;
      var untouched = Array.prototype.every.call(form.elements, function (element) {
        return !keepable(element) || element.tagName === "SELECT" || !element.value || element.defaultValue === element.value;
      });
      if (!untouched) return;
      Object.keys(kept.fields).forEach(function (name) {
        var element = form.elements.namedItem(name);
        if (element && keepable(element) && (!element.value || element.tagName === "SELECT")) {
          element.value = kept.fields[name];
        }
      });
    });
  });
})();
