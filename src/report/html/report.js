// burnlab's report page: builds the charts from the data inlined in #burnlab-data with Apache
// ECharts (inlined above this script), renders them as SVG, and makes the tables sortable.
// Every chart's element gets data-rendered="true" once drawn (the headless-browser test
// checks it).
(function () {
  'use strict';
  var data = JSON.parse(document.getElementById('burnlab-data').textContent);
  var palette = ['#4477aa', '#ee6677', '#228833', '#ccbb44', '#66ccee', '#aa3377', '#bbbbbb',
    '#000000', '#ee7733', '#0077bb', '#33bbee', '#009988'];
  var charts = [];

  function chart(id, option) {
    var el = document.getElementById(id);
    if (!el) { return; }
    var c = echarts.init(el, null, { renderer: 'svg' });
    option.animation = false;
    option.color = palette;
    c.setOption(option);
    charts.push(c);
    el.setAttribute('data-rendered', 'true');
  }
  window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });

  // Sortable tables: click a header; numbers sort as numbers ("0.93 ± 0.01" by 0.93), "–" last.
  function key(cell) {
    var t = cell.getAttribute('data-sort') || cell.textContent.trim();
    var x = parseFloat(t.replace('\u2212', '-').replace(/^\[/, ''));
    return isNaN(x) ? t.toLowerCase() : x;
  }
  function sortBy(table, i, th) {
    var asc = th.getAttribute('data-order') !== 'asc';
    Array.prototype.forEach.call(th.parentNode.cells, function (c) { c.removeAttribute('data-order'); });
    th.setAttribute('data-order', asc ? 'asc' : 'desc');
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[i]), y = key(b.cells[i]);
      if (typeof x !== typeof y) { return typeof x === 'number' ? -1 : 1; }
      return (x < y ? -1 : x > y ? 1 : 0) * (asc ? 1 : -1);
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  Array.prototype.forEach.call(document.querySelectorAll('table.sortable'), function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, i) {
      th.addEventListener('click', function () { sortBy(table, i, th); });
    });
  });

  // Learning curves: mean over seeds, and a ± std band drawn as one polygon per variant (a
  // custom series whose data are the band's bounds, so that the axes include them).
  function band(points, color) {
    return {
      type: 'custom', silent: true, z: 1, tooltip: { show: false }, color: color,
      data: points.map(function (p) { return [p[0], p[1] - p[2], p[1] + p[2]]; }),
      encode: { x: 0, y: [1, 2] },
      renderItem: function (params, api) {
        if (params.dataIndex !== 0) { return null; }
        var upper = points.map(function (p) { return api.coord([p[0], p[1] + p[2]]); });
        var lower = points.map(function (p) { return api.coord([p[0], p[1] - p[2]]); }).reverse();
        return { type: 'polygon', shape: { points: upper.concat(lower) }, style: { fill: color, opacity: 0.15 } };
      }
    };
  }
  data.curves.forEach(function (c, k) {
    var series = [];
    c.series.forEach(function (s, j) {
      var color = palette[j % palette.length];
      series.push({ name: s.name, type: 'line', showSymbol: false, color: color,
        data: s.points.map(function (p) { return [p[0], p[1]]; }) });
      series.push(Object.assign(band(s.points, color), { name: s.name }));
    });
    chart('curve-' + k, {
      title: { text: c.metric + ' (mean ± std over seeds)', textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 60, right: 20, top: 40, bottom: 60 },
      xAxis: { type: 'value', name: 'step', nameLocation: 'middle', nameGap: 25 },
      yAxis: { type: 'value', name: c.metric, scale: true },
      series: series
    });
  });

  // Parallel coordinates: every completed trial, its swept values and the primary metric.
  if (data.parallel) {
    var axes = data.parallel.axes;
    var last = axes.length - 1;
    chart('parallel', {
      parallelAxis: axes.map(function (a, i) {
        return { dim: i, name: a.name, type: a.type, data: a.data, scale: a.type === 'value' };
      }),
      parallel: { left: 80, right: 120, top: 40, bottom: 30 },
      visualMap: { type: 'continuous', dimension: last, min: data.parallel.min, max: data.parallel.max,
        right: 0, top: 'middle', calculable: true, text: [axes[last].name, ''],
        inRange: { color: ['#d73027', '#fee08b', '#1a9850'] } },
      tooltip: { trigger: 'item' },
      series: [{ type: 'parallel', lineStyle: { width: 1.5, opacity: 0.7 }, data: data.parallel.lines }]
    });
  }

  // Pareto fronts: the primary metric against parameters and against training time.
  data.pareto.forEach(function (p, k) {
    var series = p.variants.map(function (v) {
      return { name: v.name, type: 'scatter', symbolSize: 9, data: v.points };
    });
    p.fronts.forEach(function (f) {
      series.push({ name: f[0] ? 'Pareto front (' + f[0] + ')' : 'Pareto front', type: 'line', step: p.step,
        color: '#000000', showSymbol: false, lineStyle: { type: 'dashed' }, data: f[1] });
    });
    chart('pareto-' + k, {
      title: { text: data.metric + ' vs ' + p.x, textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'item', formatter: function (q) {
        return (q.data[2] || q.seriesName) + '<br>' + p.x + ': ' + q.data[0] + '<br>' + data.metric + ': ' + q.data[1];
      } },
      legend: { type: 'scroll', bottom: 0 },
      grid: { left: 60, right: 30, top: 40, bottom: 70 },
      xAxis: { type: p.log ? 'log' : 'value', name: p.x, nameLocation: 'middle', nameGap: 25, scale: true },
      yAxis: { type: 'value', name: data.metric, scale: true },
      series: series
    });
  });

  // Hyperparameter importance: the share of the metric's variance each swept key explains.
  if (data.importance && data.importance.length) {
    chart('importance', {
      title: { text: 'Importance for ' + data.metric, textStyle: { fontSize: 14 } },
      tooltip: { trigger: 'axis' },
      grid: { left: 160, right: 30, top: 40, bottom: 30 },
      xAxis: { type: 'value', max: 1, name: 'share of variance' },
      yAxis: { type: 'category', data: data.importance.map(function (i) { return i.key; }).reverse() },
      series: [{ type: 'bar', data: data.importance.map(function (i) { return i.value; }).reverse() }]
    });
  }
  document.body.setAttribute('data-charts', String(charts.length));
}());
