// Renders every <canvas data-chart="..."> with Chart.js (vendored, served by the app).
// The chart config is JSON in the data-chart attribute, e.g.
//   <canvas data-chart='{"type":"bar","data":{"labels":[...],"datasets":[{"label":"...","data":[...]}]}}'></canvas>
// Kept out of the HTML because the Content-Security-Policy forbids inline scripts.
(function () {
  function texts(config) {
    const out = [];
    const data = config.data || {};
    (data.labels || []).forEach((label) => out.push(String(label)));
    (data.datasets || []).forEach((dataset) => out.push(String(dataset.label || "")));
    const title = config.options && config.options.plugins && config.options.plugins.title;
    if (title && title.text) out.push(String(title.text));
    return out.join(" ");
  }

  function render(canvas, config) {
    config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
    new Chart(canvas, config);
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (typeof Chart === "undefined") return;
    // The page's font stack includes the bundled Noto Sans SC, so Chinese labels render in charts too.
    const family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.font.family = family;
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      let config;
      try {
        config = JSON.parse(canvas.getAttribute("data-chart"));
      } catch (error) {
        console.error("chart", error);
        return;
      }
      // Canvas text does not trigger loading of unicode-range font pieces: load the ones the
      // labels need first, or Chinese labels come out as empty boxes.
      const needed = texts(config);
      const ready = document.fonts && needed.trim()
        ? document.fonts.load(`12px ${family}`, needed).catch(() => null)
        : Promise.resolve();
      ready.then(() => render(canvas, config));
    });
  });
})();
