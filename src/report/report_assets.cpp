// The audit card page's CSS and script (report_assets.hpp). Kept free of "</" so they can be
// inlined in <style> / <script> elements as they are.
#include "report/report_assets.hpp"

namespace safescan::report {

std::string_view page_css() {
  return R"css(
:root { --fg: #1d2430; --muted: #5b6575; --line: #dde2ea; --bg: #f5f7fa; --card: #fff; --accent: #3b6fb6; --warn: #b3261e; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: var(--fg); background: var(--bg); }
header.top { background: #1f2a3c; color: #fff; padding: 22px 32px 18px; }
header.top h1 { margin: 0 0 4px; font-size: 26px; font-weight: 600; }
header.top .sub { margin: 0; color: #c9d3e3; font-size: 14px; }
header.top code { color: #fff; }
nav.toc { position: sticky; top: 0; z-index: 5; background: #fff; border-bottom: 1px solid var(--line); padding: 8px 32px; display: flex; flex-wrap: wrap; gap: 4px 18px; font-size: 14px; }
nav.toc a { color: var(--accent); text-decoration: none; }
nav.toc a:hover { text-decoration: underline; }
main { max-width: 1240px; margin: 0 auto; padding: 8px 32px 40px; }
section { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 6px 24px 20px; margin: 20px 0; }
h2 { font-size: 21px; margin: 16px 0 10px; padding-bottom: 6px; border-bottom: 2px solid var(--line); }
h3 { font-size: 16px; margin: 20px 0 8px; }
p.note { color: var(--muted); font-size: 14px; margin: 6px 0 10px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(135px, 1fr)); gap: 12px; margin: 8px 0 4px; }
.card { border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; background: #fafbfd; }
.card .value { font-size: 24px; font-weight: 650; }
.card .label { color: var(--muted); font-size: 13px; }
.card.alert .value { color: var(--warn); }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; font-size: 14px; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { background: #f0f3f7; font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
td.key, td.hash, td.cmd { font-family: ui-monospace, "DejaVu Sans Mono", monospace; font-size: 12.5px; word-break: break-all; }
tr.raw td { color: var(--muted); }
table.sortable th { cursor: pointer; }
table.sortable th::after { content: " \2195"; color: #a0a8b5; font-size: 11px; }
.scroll { max-height: 520px; overflow: auto; border: 1px solid var(--line); border-radius: 6px; }
.scroll table { margin: 0; }
.scroll th { position: sticky; top: 0; }
.charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(360px, 1fr)); gap: 18px; margin: 10px 0; }
figure.chart { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 10px; background: #fff; }
figure.chart .area { position: relative; height: 280px; }
.bar { display: inline-block; height: 10px; background: var(--accent); border-radius: 2px; vertical-align: middle; margin-right: 6px; }
.privacy { border-left: 4px solid var(--warn); background: #fdf1f0; padding: 8px 12px; margin: 8px 0 14px; font-size: 14px; }
button.all { font: inherit; font-size: 13px; padding: 4px 12px; border: 1px solid var(--line); border-radius: 6px; background: #fff; cursor: pointer; }
.thumbs { display: grid; grid-template-columns: repeat(auto-fill, minmax(190px, 1fr)); gap: 14px; margin: 8px 0 14px; }
figure.thumb { margin: 0; border: 1px solid var(--line); border-radius: 8px; padding: 8px; background: #fafbfd; }
figure.thumb button.reveal { display: flex; align-items: center; justify-content: center; width: 100%; height: 170px; padding: 0; border: 0; background: #e9edf2; overflow: hidden; border-radius: 4px; cursor: pointer; }
figure.thumb img { max-width: 100%; max-height: 170px; filter: blur(14px); transition: filter 0.15s; }
figure.thumb.revealed img { filter: none; }
figure.thumb .placeholder { display: flex; flex-direction: column; align-items: center; justify-content: center; height: 170px; background: #eceff3; color: var(--muted); font-size: 13px; text-align: center; padding: 8px; border-radius: 4px; }
figure.thumb figcaption { font-size: 12.5px; margin-top: 6px; line-height: 1.35; }
figure.thumb .score { font-weight: 650; }
figure.thumb .k { font-family: ui-monospace, "DejaVu Sans Mono", monospace; word-break: break-all; color: var(--muted); }
ul.limits li { margin: 6px 0; }
dl.facts { display: grid; grid-template-columns: max-content 1fr; gap: 4px 18px; margin: 8px 0 12px; font-size: 14px; }
dl.facts dt { color: var(--muted); }
dl.facts dd { margin: 0; }
footer { text-align: center; color: var(--muted); font-size: 13px; padding: 0 0 30px; }
@media print { nav.toc { display: none; } section { break-inside: avoid-page; } }
)css";
}

std::string_view page_js() {
  return R"js(
(function () {
  'use strict';
  var palette = ['#3b6fb6', '#d9822b', '#2f9e77', '#c2455b', '#7b61c9', '#8c6d46', '#4aa3c3', '#9a9a9a'];
  var data = JSON.parse(document.getElementById('report-data').textContent);
  var drawn = 0;
  function shorten(text) { text = String(text); return text.length > 42 ? text.slice(0, 40) + '\u2026' : text; }
  if (typeof Chart !== 'undefined') {
    Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
    Chart.defaults.color = '#1d2430';
    data.charts.forEach(function (spec) {
      var canvas = document.getElementById(spec.id);
      if (!canvas) return;
      if (spec.kind === 'xy') {  // curves: ROC, precision-recall, reliability, accuracy vs severity
        new Chart(canvas, {
          type: 'scatter',
          data: { datasets: spec.datasets.map(function (d, i) {
            var color = palette[i % palette.length];
            return { label: d.label, data: d.points, showLine: true, borderColor: color, backgroundColor: color,
                     pointRadius: d.points.length > 40 ? 0 : 2.5, borderWidth: 2, borderDash: d.dashed ? [6, 4] : [], tension: 0 };
          }) },
          options: {
            animation: false, responsive: true, maintainAspectRatio: false,
            plugins: { title: { display: true, text: spec.title, font: { size: 14, weight: '600' } },
                       legend: { display: true, position: 'bottom' } },
            scales: { x: { type: 'linear', min: spec.xmin, max: spec.xmax, title: { display: true, text: spec.x } },
                      y: { type: 'linear', min: spec.ymin, max: spec.ymax, title: { display: true, text: spec.y } } }
          }
        });
        drawn++;
        return;
      }
      var valueAxis = spec.horizontal ? 'x' : 'y';
      var labelAxis = spec.horizontal ? 'y' : 'x';
      var scales = {};
      scales[labelAxis] = {
        title: { display: true, text: spec.x },
        ticks: { autoSkip: !spec.horizontal, callback: function (v) { return shorten(this.getLabelForValue(v)); } },
        grid: { display: false }
      };
      scales[valueAxis] = { type: spec.log ? 'logarithmic' : 'linear', title: { display: true, text: spec.y } };
      if (spec.log) {
        scales[valueAxis].min = 0.5;
        scales[valueAxis].ticks = { callback: function (v) {
          var l = Math.log10(v); return Math.abs(l - Math.round(l)) < 1e-9 && v >= 1 ? Number(v).toLocaleString() : ''; } };
      } else {
        scales[valueAxis].beginAtZero = true;
        if (spec.percent) scales[valueAxis].ticks = { callback: function (v) { return v + ' %'; } };
        else scales[valueAxis].ticks = { precision: 0 };
      }
      var several = spec.datasets.length > 1;
      new Chart(canvas, {
        type: 'bar',
        data: {
          labels: spec.labels,
          datasets: spec.datasets.map(function (d, i) {
            var color = palette[i % palette.length];
            return { label: d.label, data: d.data, backgroundColor: color + 'cc', borderColor: color, borderWidth: 1 };
          })
        },
        options: {
          animation: false, responsive: true, maintainAspectRatio: false,
          indexAxis: spec.horizontal ? 'y' : 'x',
          plugins: {
            title: { display: true, text: spec.title, font: { size: 14, weight: '600' } },
            legend: { display: several, position: 'bottom' },
            tooltip: { callbacks: { label: function (c) {
              var v = spec.percent ? c.raw.toFixed(3) + ' %' : Number(c.raw).toLocaleString();
              return (several ? c.dataset.label + ': ' : '') + v; } } }
          },
          scales: scales
        }
      });
      drawn++;
    });
  }
  document.body.setAttribute('data-charts-drawn', String(drawn));

  function setRevealed(figure, on) {
    figure.classList.toggle('revealed', on);
    figure.querySelector('button.reveal').setAttribute('aria-pressed', on ? 'true' : 'false');
  }
  document.querySelectorAll('figure.thumb button.reveal').forEach(function (b) {
    b.addEventListener('click', function () {
      var figure = b.closest('figure.thumb');
      setRevealed(figure, !figure.classList.contains('revealed'));
    });
  });
  document.querySelectorAll('button.all').forEach(function (b) {
    b.addEventListener('click', function () {
      var reveal = b.getAttribute('data-reveal') === '1';
      document.querySelectorAll('figure.thumb').forEach(function (f) { if (f.querySelector('img')) setRevealed(f, reveal); });
    });
  });

  document.querySelectorAll('table.sortable').forEach(function (table) {
    table.querySelectorAll('th').forEach(function (th, col) {
      th.addEventListener('click', function () {
        var body = table.tBodies[0];
        var rows = Array.prototype.slice.call(body.rows);
        var down = th.getAttribute('data-dir') !== 'desc';
        table.querySelectorAll('th').forEach(function (h) { h.removeAttribute('data-dir'); });
        th.setAttribute('data-dir', down ? 'desc' : 'asc');
        function key(r) { var c = r.cells[col]; var v = c.getAttribute('data-v'); return v !== null ? Number(v) : c.textContent; }
        rows.sort(function (a, b) {
          var x = key(a), y = key(b);
          var r = typeof x === 'number' && typeof y === 'number' ? x - y : String(x).localeCompare(String(y));
          return down ? -r : r;
        });
        rows.forEach(function (r) { body.appendChild(r); });
      });
    });
  });
})();
)js";
}

}  // namespace safescan::report
