// Reported aggregates beside the same figures computed from the project records.
import { conversionTable, el, formatNumber, formatQuantity, provenanceButton, statusBadge } from "../format.js";
import { BadParameter, link } from "../params.js";

export const KEYS = ["filter", "tolerance"];

export async function render(api, params, root) {
  const tolerance = params.text("tolerance");
  if (tolerance && !/^\d+(\.\d+)?$/.test(tolerance)) throw new BadParameter(`tolerance: "${tolerance}" is not a percentage such as 5 or 2.5`);
  const answer = await api.service("AnalyticsService").reconcileReportedFigures({ filter: params.text("filter"), aboutTolerancePercent: tolerance });
  // Only the indicators and areas the answer names: a large record holds thousands.
  const named = (field) => [...new Set(answer.reconciliations.map((r) => r.reported[field]))];
  const [indicators, areas] = await Promise.all([
    Promise.all(named("indicator").map((name) => api.service("IndicatorService").getIndicator({ name }))),
    Promise.all(named("area").map((name) => api.service("AreaService").getArea({ name }))),
  ]);
  const indicatorOf = new Map(indicators.map(({ indicator }) => [indicator.name, indicator]));
  const areaOf = new Map(areas.map(({ area }) => [area.name, area]));
  const form = el("form", { class: "filters", "aria-label": "Reconciliation" },
    el("label", {}, "Filter", el("input", { name: "filter", value: params.text("filter"), size: 40, placeholder: 'indicator = "indicators/…"' })),
    el("label", {}, "Tolerance for “about” (%)", el("input", { name: "tolerance", value: tolerance, size: 4, placeholder: "5" })),
    el("button", { type: "submit" }, "Show"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = link("reconciliation", Object.fromEntries(new FormData(form).entries()));
  });
  const qualifier = (q) => api.enumShort("pairing.v1.Qualifier", q).toLowerCase().replaceAll("_", " ");
  root.replaceChildren(
    el("h2", {}, "Reported against computed"),
    form,
    el("p", { class: "lede" }, `Each reported figure beside the same figure computed from the project records, at revision ${answer.revision}. The computed column is only as sure as its inputs: see their status.`),
    el("table", { class: "figures", "aria-label": "Reconciliation" },
      el("thead", {}, el("tr", {}, ["Figure", "Reported", "Computed", "Difference", "Agrees", "Computed from", "Method"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, answer.reconciliations.map((r) => {
        const indicator = indicatorOf.get(r.reported.indicator);
        return el("tr", { "data-observation": r.reported.name },
          el("th", { scope: "row" }, `${indicator?.displayName ?? r.reported.indicator}, ${areaOf.get(r.reported.area)?.displayName ?? r.reported.area}, ${r.reported.period}`),
          el("td", { class: "n" }, el("span", { "data-value": r.reported.value }, `${qualifier(r.reported.qualifier)} ${formatQuantity(r.reported.value, indicator)}`), " ", statusBadge(api, r.reported.status), " ", provenanceButton(r.reported.provenance)),
          el("td", { class: "n", "data-value": r.computedValue }, formatQuantity(r.computedValue, indicator)),
          el("td", { class: "n", "data-value": r.difference }, `${formatQuantity(r.difference, indicator)} (${formatNumber(r.differencePercent, 2)} %)`),
          el("td", { "data-satisfied": String(r.qualifierSatisfied) }, r.qualifierSatisfied ? "yes" : "no"),
          el("td", {}, statusBadge(api, r.inputStatus)),
          el("td", {}, r.method));
      }))),
    conversionTable(api, answer.conversions),
  );
}
