// Reported aggregates beside the same figures computed from the project records, and figures
// one source states together checked against each other.
import { conversionTable, el, formatNumber, formatQuantity, provenanceButton, statusBadge } from "../format.js";
import { BadParameter, link } from "../params.js";

export const KEYS = ["filter", "tolerance"];

export async function render(api, params, root) {
  const tolerance = params.text("tolerance");
  if (tolerance && !/^\d+(\.\d+)?$/.test(tolerance)) throw new BadParameter(`tolerance: "${tolerance}" is not a percentage such as 5 or 2.5`);
  const analytics = api.service("AnalyticsService");
  const [answer, consistency] = await Promise.all([
    analytics.reconcileReportedFigures({ filter: params.text("filter"), aboutTolerancePercent: tolerance }),
    analytics.checkConsistency({ aboutTolerancePercent: tolerance }),
  ]);
  // Only the indicators and areas the answers name: a large record holds thousands.
  const figures = [...answer.reconciliations.map((r) => r.reported), ...consistency.checks.map((c) => c.checked)];
  const named = (field) => [...new Set(figures.map((o) => o[field]))];
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
  const label = (o) => `${indicatorOf.get(o.indicator)?.displayName ?? o.indicator}, ${areaOf.get(o.area)?.displayName ?? o.area}, ${o.period}`;
  root.replaceChildren(
    el("h2", {}, "Reported against computed"),
    form,
    el("p", { class: "lede" }, `Each reported figure beside the same figure computed from the project records, at revision ${answer.revision}. The computed column is only as sure as its inputs: see their status.`),
    el("table", { class: "figures", "aria-label": "Reconciliation" },
      el("thead", {}, el("tr", {}, ["Figure", "Reported", "Computed", "Difference", "Agrees", "Independent", "Computed from", "Method"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, answer.reconciliations.map((r) => {
        const indicator = indicatorOf.get(r.reported.indicator);
        return el("tr", { "data-observation": r.reported.name },
          el("th", { scope: "row" }, label(r.reported)),
          el("td", { class: "n" }, el("span", { "data-value": r.reported.value }, `${qualifier(r.reported.qualifier)} ${formatQuantity(r.reported.value, indicator)}`), " ", statusBadge(api, r.reported.status), " ", provenanceButton(r.reported.provenance)),
          el("td", { class: "n", "data-value": r.computedValue }, formatQuantity(r.computedValue, indicator)),
          el("td", { class: "n", "data-value": r.difference }, `${formatQuantity(r.difference, indicator)} (${formatNumber(r.differencePercent, 2)} %)`),
          el("td", { "data-satisfied": String(r.qualifierSatisfied) }, r.qualifierSatisfied ? "yes" : "no"),
          el("td", { "data-independent": String(r.independent), title: r.independent ? "" : "a conversion factor used was computed from this figure" }, r.independent ? "yes" : "no: its rate was computed from it"),
          el("td", {}, statusBadge(api, r.inputStatus)),
          el("td", {}, r.method));
      }))),
    conversionTable(api, answer.conversions),
    el("h3", {}, "Checked against each other"),
    el("p", { class: "lede" }, "Figures one source states together, each beside what the figures it relates to imply for it (a multiple against the growth, two currencies against a rate, a part against share × whole). Figures computed from one another agree by construction: such a check is not independent."),
    consistency.checks.length === 0 ? el("p", { class: "muted" }, "No figures of the record relate to each other.") :
      el("table", { class: "figures", "aria-label": "Consistency" },
        el("thead", {}, el("tr", {}, ["Figure", "Stated", "Implied", "Difference", "Consistent", "Independent", "Arithmetic", "Likely reason"].map((h) => el("th", { scope: "col" }, h)))),
        el("tbody", {}, consistency.checks.map((c) => {
          const indicator = indicatorOf.get(c.checked.indicator);
          return el("tr", { "data-observation": c.checked.name },
            el("th", { scope: "row" }, label(c.checked)),
            el("td", { class: "n" }, el("span", { "data-value": c.checked.value }, `${qualifier(c.checked.qualifier)} ${formatQuantity(c.checked.value, indicator)}`), " ", provenanceButton(c.checked.provenance)),
            el("td", { class: "n", "data-value": c.impliedValue, title: `from ${c.inputs.map((i) => i.name).join(", ")}` }, formatQuantity(c.impliedValue, indicator)),
            el("td", { class: "n" }, c.differencePercent ? `${formatNumber(c.differencePercent, 2)} %` : "—"),
            el("td", { "data-consistent": String(c.consistent) }, c.consistent ? "yes" : "no"),
            el("td", { "data-independent": String(c.independent) }, c.independent ? "yes" : "no"),
            el("td", {}, c.arithmetic),
            el("td", {}, c.explanation));
        }))),
  );
}
