// Renders every <canvas data-chart="..."> with Chart.js (vendored, served by the app).
// The chart config is JSON in the data-chart attribute, e.g.
//   <canvas data-chart='{"type":"bar","data":{"labels":[...],"datasets":[{"label":"...","data":[...]}]}}'></canvas>
// Kept out of the HTML because the Content-Security-Policy forbids inline scripts.
document.addEventListener("DOMContentLoaded", () => {
  if (typeof Chart === "undefined") return;
  // The page's font stack includes the bundled Noto Sans SC, so Chinese labels render in charts too.
  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
    try {
      const config = JSON.parse(canvas.getAttribute("data-chart"));
      config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
      new Chart(canvas, config);
    } catch (error) {
      console.error("chart", error);
    }
  });
});
