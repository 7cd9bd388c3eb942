// Small SVG charts. Each chart is an image with a text alternative; the numbers it draws are
// also in a table beside it, so nothing is only in the picture.

const SVG = "http://www.w3.org/2000/svg";

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, value);
  for (const child of children) element.append(child);
  return element;
}

/**
 * Horizontal bars: `bars` are {label, value, text, synthetic}; synthetic bars are hatched, so a
 * made-up amount never looks like a reported one.
 */
export function barChart(bars, title) {
  const rowHeight = 26;
  // Drawn at the width it is shown at, so its text stays readable on a phone.
  const width = Math.min(900, Math.max(320, window.innerWidth - 32));
  const labelWidth = Math.round(width * 0.3);
  const height = Math.max(rowHeight * bars.length + 10, 40);
  const max = Math.max(...bars.map((b) => b.value), 0) || 1;
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart bars" });
  chart.append(
    svg("defs", {}, svg("pattern", { id: "hatch", width: "6", height: "6", patternUnits: "userSpaceOnUse", patternTransform: "rotate(45)" },
      svg("rect", { width: "6", height: "6", class: "hatch-ground" }),
      svg("line", { x1: "0", y1: "0", x2: "0", y2: "6", class: "hatch-line" }))),
  );
  bars.forEach((bar, i) => {
    const y = 5 + i * rowHeight;
    const barWidth = Math.max(((width - labelWidth - 130) * bar.value) / max, 1);
    const label = svg("text", { x: labelWidth - 8, y: y + 17, "text-anchor": "end", class: "bar-label" });
    const room = Math.floor(labelWidth / 8.5);
    label.textContent = bar.label.length > room ? bar.label.slice(0, room - 1) + "…" : bar.label;
    const rect = svg("rect", { x: labelWidth, y, width: barWidth, height: rowHeight - 6, class: bar.synthetic ? "bar synthetic" : "bar" });
    const tip = svg("title");
    tip.textContent = `${bar.label}: ${bar.text}${bar.synthetic ? " (synthetic)" : ""}`;
    rect.append(tip);
    const value = svg("text", { x: labelWidth + barWidth + 6, y: y + 17, class: "bar-value" });
    value.textContent = bar.text;
    chart.append(label, rect, value);
  });
  return chart;
}

/** A line over periods: `points` are {period, value, synthetic}; synthetic points are hollow. */
export function lineChart(points, title, unitText) {
  const width = Math.min(900, Math.max(320, window.innerWidth - 32));
  const height = Math.round(width * 0.36);
  const pad = { left: Math.min(90, width * 0.18), right: 20, top: 34, bottom: 40 };
  const chart = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img", "aria-label": title, class: "chart line" });
  if (points.length === 0) return chart;
  const values = points.map((p) => p.value);
  let low = Math.min(...values, 0);
  let high = Math.max(...values);
  if (high === low) high = low + 1;
  const x = (i) => pad.left + (points.length === 1 ? 0 : (i * (width - pad.left - pad.right)) / (points.length - 1));
  const y = (v) => height - pad.bottom - ((v - low) * (height - pad.top - pad.bottom)) / (high - low);
  for (const tick of [low, (low + high) / 2, high]) {
    const label = svg("text", { x: pad.left - 8, y: y(tick) + 4, "text-anchor": "end", class: "axis" });
    label.textContent = new Intl.NumberFormat(navigator.language || "en", { notation: "compact" }).format(tick);
    chart.append(svg("line", { x1: pad.left, x2: width - pad.right, y1: y(tick), y2: y(tick), class: "grid" }), label);
  }
  const unit = svg("text", { x: 4, y: 14, class: "axis" });
  unit.textContent = unitText;
  chart.append(unit);
  chart.append(svg("polyline", { points: points.map((p, i) => `${x(i)},${y(p.value)}`).join(" "), class: "series" }));
  points.forEach((p, i) => {
    const dot = svg("circle", { cx: x(i), cy: y(p.value), r: 5, class: p.synthetic ? "point synthetic" : "point" });
    const tip = svg("title");
    tip.textContent = `${p.period}: ${p.text}${p.synthetic ? " (synthetic)" : ""}`;
    dot.append(tip);
    const label = svg("text", { x: x(i), y: height - pad.bottom + 20, "text-anchor": "middle", class: "axis" });
    label.textContent = p.period;
    chart.append(dot, label);
  });
  return chart;
}
