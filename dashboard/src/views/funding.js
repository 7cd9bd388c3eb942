// Funding as bars by any dimension the API groups by, each group with the status the API gives
// it (the least certain of its inputs) and the part of its amount that rests on each status.
import { barChart } from "../charts.js";
import { conversionTable, el, formatMoney, formatExactMoney, formatNumber, formatShare, moneyDecimal, moneyNumber, statusBadge } from "../format.js";
import { BadParameter } from "../params.js";
import { FILTER_KEYS, filterForm, fundingRequest, loadChoices } from "../filters.js";

export const KEYS = [...FILTER_KEYS, "by", "level", "top"];

const DIMENSION = "pairing.v1.FundingDimension";
const STATUS = "pairing.v1.DataStatus";

export async function render(api, params, root) {
  const dimensions = params.list("by", "field").map((text) => {
    const number = api.enumNumber(DIMENSION, text);
    if (!number) {
      const allowed = api.enumValues(DIMENSION).map((v) => v.short.toLowerCase());
      throw new BadParameter(`by: unknown dimension "${text}" (one of ${allowed.join(", ")})`);
    }
    return number;
  });
  const request = {
    ...fundingRequest(api, params),
    groupBy: dimensions,
    areaLevel: params.enumValue(api, "level", "pairing.v1.AreaLevel"),
    topN: params.count("top"),
  };
  const [choices, summary] = await Promise.all([loadChoices(api), api.service("AnalyticsService").summarizeFunding(request)]);
  const keyOf = (group) => group.keys.map((k) => k.value).join("|");
  const synthetic = (group) => group.coverage.some((part) => api.enumShort(STATUS, part.status) === "SYNTHETIC");

  const byOptions = api.enumValues(DIMENSION).map((v) => v.short.toLowerCase());
  const byInput = el("label", {}, "Group by", el("select", { name: "by" },
    byOptions.map((value) => el("option", { value, selected: params.list("by", "field").join(",") === value }, value.replaceAll("_", " ")))));
  const topInput = el("label", {}, "Top", el("input", { name: "top", value: params.text("top"), inputmode: "numeric", size: 3, placeholder: "all" }));

  const label = (group) => (group.other ? "other" : group.keys.map((k) => k.displayName || k.value).join(" · ") || "total");
  const bars = summary.groups.map((group) => ({ label: label(group), value: moneyNumber(group.amount), text: formatMoney(group.amount), synthetic: synthetic(group) }));
  const statusCell = (group) => el("td", { "data-group-status": api.enumShort(STATUS, group.status) },
    group.coverage.map((part) => el("span", { class: "composition", title: `${formatNumber(part.value)} ${group.amount?.currencyCode ?? ""} in ${part.count} funding lines` },
      statusBadge(api, part.status), " ", el("span", { "data-value": part.value }, formatShare(part.share)))));
  const table = el("table", { class: "figures", "aria-label": "Funding groups" },
    el("thead", {}, el("tr", {}, el("th", { scope: "col" }, "Group"), el("th", { scope: "col" }, "Amount"), el("th", { scope: "col" }, "Share"), el("th", { scope: "col" }, "Projects"), el("th", { scope: "col" }, "Lines"), el("th", { scope: "col" }, "Rests on"))),
    el("tbody", {}, summary.groups.map((group) => el("tr", { "data-key": group.other ? "other" : keyOf(group) },
      el("th", { scope: "row" }, label(group)),
      el("td", { class: "n", "data-amount": moneyDecimal(group.amount), title: formatExactMoney(group.amount) }, formatMoney(group.amount)),
      el("td", { class: "n" }, formatShare(group.share)),
      el("td", { class: "n" }, String(group.projectCount)),
      el("td", { class: "n" }, String(group.lineCount)),
      statusCell(group)))),
    el("tfoot", {}, el("tr", { "data-key": "total" },
      el("th", { scope: "row" }, "Total"),
      el("td", { class: "n", "data-amount": moneyDecimal(summary.total?.amount), title: formatExactMoney(summary.total?.amount) }, formatMoney(summary.total?.amount)),
      el("td", { class: "n" }, formatShare(summary.total?.share || "1")),
      el("td", { class: "n" }, String(summary.total?.projectCount ?? 0)),
      el("td", { class: "n" }, String(summary.total?.lineCount ?? 0)),
      statusCell(summary.total))));

  root.replaceChildren(
    el("h2", {}, "Funding"),
    filterForm(api, "funding", params, choices, [byInput, topInput]),
    el("p", { class: "lede" }, `Total ${formatMoney(summary.total?.amount)} over ${summary.total?.projectCount ?? 0} projects, at revision ${summary.revision}. `,
      summary.total && synthetic(summary.total) ? el("strong", { class: "warning" }, "Includes synthetic records: made up for demonstration, never real figures.") : ""),
    barChart(bars, `Funding by ${params.list("by", "field").join(" and ")}`),
    table,
    conversionTable(api, summary.conversions),
  );
}
