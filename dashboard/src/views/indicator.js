// An indicator's series for one area as a line, with the figures the API derives from it.
import { lineChart } from "../charts.js";
import { el, formatNumber, formatQuantity, provenanceButton, statusBadge } from "../format.js";
import { BadParameter, link } from "../params.js";

export const KEYS = ["indicator", "area", "from", "to"];

const PERIOD = /^\d{4}([-Q/].*)?$/;

// How a figure was read from its source, by the wire's number (0: not stated).
const READING = { 1: "printed", 2: "read from words" };

export async function render(api, params, root) {
  const [indicators, areas] = await Promise.all([
    api.listAll("IndicatorService", "listIndicators", {}, "indicators"),
    api.listAll("AreaService", "listAreas", { orderBy: "display_name" }, "areas"),
  ]);
  if (indicators.length === 0) {
    root.replaceChildren(el("h2", {}, "Indicators"), el("p", {}, "The record holds no indicators yet."));
    return;
  }
  const indicatorName = params.text("indicator", indicators[0].name);
  const indicator = indicators.find((i) => i.name === indicatorName);
  if (!indicator) throw new BadParameter(`indicator: "${indicatorName}" is not in the record (for example ${indicators[0].name})`);
  for (const key of ["from", "to"]) {
    const period = params.text(key);
    if (period && !PERIOD.test(period)) throw new BadParameter(`${key}: "${period}" is not a period such as 2015, 2020Q1 or 2020-03`);
  }
  const analytics = api.service("AnalyticsService");
  const observed = await analytics.getLatestObservations({ indicator: indicator.name });
  const observedAreas = new Set(observed.observations.map((o) => o.area));
  const areaName = params.text("area", observed.observations[0]?.area ?? "");
  if (areaName && !areas.some((a) => a.name === areaName)) throw new BadParameter(`area: "${areaName}" is not in the record`);
  const derivations = ["YEAR_ON_YEAR", "CAGR", "INDEX", "DOUBLING_TIME"].map((d) => api.enumNumber("pairing.v1.Derivation", d));
  const answer = areaName
    ? await analytics.getIndicatorSeries({ indicator: indicator.name, areas: [areaName], startPeriod: params.text("from"), endPeriod: params.text("to"), derivations })
    : { series: [], revision: observed.revision };
  const series = answer.series[0] ?? { observations: [], derived: [], competing: [] };
  // Where sources compete for a period, the observation the API chose and those it passed over.
  const competing = new Map(series.competing.map((c) => [c.chosen, c]));
  const areaLabel = areas.find((a) => a.name === areaName)?.displayName ?? areaName;
  const synthetic = api.enumNumber("pairing.v1.DataStatus", "SYNTHETIC");

  const picker = el("form", { class: "filters", "aria-label": "Series" },
    el("label", {}, "Indicator", el("select", { name: "indicator" }, indicators.map((i) => el("option", { value: i.name, selected: i.name === indicator.name }, i.displayName)))),
    el("label", {}, "Area", el("select", { name: "area" }, areas.filter((a) => observedAreas.has(a.name) || a.name === areaName).map((a) => el("option", { value: a.name, selected: a.name === areaName }, a.displayName)))),
    el("label", {}, "From", el("input", { name: "from", value: params.text("from"), size: 7, placeholder: "first" })),
    el("label", {}, "To", el("input", { name: "to", value: params.text("to"), size: 7, placeholder: "last" })),
    el("button", { type: "submit" }, "Show"));
  picker.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = link("indicator", Object.fromEntries(new FormData(picker).entries()));
  });

  const points = series.observations.map((o) => ({ period: o.period, value: Number(o.value), text: formatQuantity(o.value, indicator), synthetic: o.status === synthetic }));
  const basis = indicator.priceBasis ? ` · ${api.enumShort("pairing.v1.PriceBasis", indicator.priceBasis).toLowerCase()} prices${indicator.priceBaseYear ? " of " + indicator.priceBaseYear : ""}` : "";
  root.replaceChildren(
    el("h2", {}, indicator.displayName),
    picker,
    el("p", { class: "lede" }, `${indicator.description} In ${formatQuantity("1", indicator).replace(/^1 ?/, "") || "units"}${basis}; ${areaLabel || "no area has observations"}, at revision ${answer.revision}.`),
    lineChart(points, `${indicator.displayName}, ${areaLabel}`, formatQuantity("1", indicator).replace(/^1 ?/, "")),
    el("h3", {}, "Observations"),
    el("table", { class: "figures", "aria-label": "Observations" },
      el("thead", {}, el("tr", {}, ["Period", "Value", "Qualifier", "Read", "Status", "Source", "Chosen over"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, series.observations.map((o) => el("tr", { "data-observation": o.name },
        el("th", { scope: "row" }, o.period),
        el("td", { class: "n", "data-value": o.value }, formatQuantity(o.value, indicator)),
        el("td", {}, api.enumShort("pairing.v1.Qualifier", o.qualifier).toLowerCase().replaceAll("_", " ")),
        el("td", { "data-reading": READING[o.reading] ?? "" }, READING[o.reading] ?? "not stated"),
        el("td", {}, statusBadge(api, o.status)),
        el("td", {}, provenanceButton(o.provenance)),
        el("td", { "data-passed-over": competing.get(o.name)?.passedOver.join(" ") ?? "" },
          competing.has(o.name) ? `${competing.get(o.name).passedOver.join(", ")} (${competing.get(o.name).reason})` : "—"))))),
    el("h3", {}, "Derived by the service"),
    series.derived.length === 0 ? el("p", { class: "muted" }, "Nothing can be derived from fewer than two observations.") :
      el("table", { class: "figures", "aria-label": "Derived figures" },
        el("thead", {}, el("tr", {}, ["Figure", "Period", "Value", "Status", "From inputs that are"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, series.derived.map((d) => el("tr", {},
          el("th", { scope: "row" }, api.enumShort("pairing.v1.Derivation", d.derivation).toLowerCase().replaceAll("_", " ")),
          el("td", {}, d.period),
          el("td", { class: "n", "data-value": d.value, title: `computed from ${d.inputs.join(", ")}` }, `${formatNumber(d.value)} ${d.unit}`),
          el("td", {}, statusBadge(api, d.status)),
          el("td", {}, statusBadge(api, d.inputStatus)))))),
  );
}
