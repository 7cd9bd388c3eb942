// The area hierarchy as a tree, each area with the funding the API sums for it at its level,
// and a place found by any of its names or codes.
import { el, formatMoney, moneyDecimal, moneyNumber, statusBadge } from "../format.js";
import { FILTER_KEYS, filterForm, fundingRequest, loadChoices } from "../filters.js";
import { link } from "../params.js";

export const KEYS = [...FILTER_KEYS, "place"];

const LEVELS = ["REGION", "PREFECTURE", "COUNTY"];
// Divisions are summed as prefectures (the API's rule).
const summed = new Set([...LEVELS, "DIVISION"]);

export async function render(api, params, root) {
  const request = fundingRequest(api, params);
  const analytics = api.service("AnalyticsService");
  const area = api.enumNumber("pairing.v1.FundingDimension", "AREA");
  const place = params.text("place");
  const [choices, found, ...answers] = await Promise.all([
    loadChoices(api),
    place ? api.service("AreaService").resolvePlaces({ query: place }) : Promise.resolve({ matches: [] }),
    ...LEVELS.map((level) => analytics.summarizeFunding({ ...request, groupBy: [area], areaLevel: api.enumNumber("pairing.v1.AreaLevel", level) })),
  ]);
  const groups = new Map(answers.flatMap((answer) => answer.groups.map((group) => [group.keys[0].value, group])));
  const children = new Map();
  for (const a of choices.areas) {
    const list = children.get(a.parent) ?? [];
    list.push(a);
    children.set(a.parent, list);
  }
  const amountOf = (a) => moneyNumber(groups.get(a.name)?.amount);
  const byAmount = (a, b) => amountOf(b) - amountOf(a) || a.displayName.localeCompare(b.displayName);
  const node = (a, depth) => {
    const group = groups.get(a.name);
    const money = group?.amount;
    const below = (children.get(a.name) ?? []).sort(byAmount);
    const codes = (a.codes ?? []).map((c) => c.value).join(", ");
    const label = el("span", { class: "area-label" }, el("span", {}, a.displayName), " ",
      codes ? [el("span", { class: "muted", "data-codes": codes }, codes), " "] : "",
      el("span", { class: "muted" }, api.enumShort("pairing.v1.AreaLevel", a.level).toLowerCase()), " ",
      money ? el("span", { class: "amount", "data-amount": moneyDecimal(money) }, formatMoney(money))
        : el("span", { class: "muted" }, summed.has(api.enumShort("pairing.v1.AreaLevel", a.level)) ? "no funding recorded" : "funding is summed from region level down"),
      group ? [" ", statusBadge(api, group.status)] : "",
      " ", el("a", { href: `#funding?by=field&area=${encodeURIComponent(a.name)}` }, "by field"));
    const item = el("li", { "data-area": a.name });
    if (below.length === 0) item.append(label);
    else item.append(el("details", { open: depth < 2 }, el("summary", {}, label), el("ul", {}, below.map((b) => node(b, depth + 1)))));
    return item;
  };
  const names = new Set(choices.areas.map((a) => a.name));
  const roots = choices.areas.filter((a) => !a.parent || !names.has(a.parent)).sort(byAmount);
  const finder = el("form", { class: "filters", "aria-label": "Find a place" },
    el("label", {}, "Find a place by any name or code", el("input", { name: "place", value: place, size: 24, placeholder: "莎车, Shache, 653125" })),
    el("button", { type: "submit" }, "Find"));
  finder.addEventListener("submit", (event) => {
    event.preventDefault();
    location.hash = link("areas", { ...Object.fromEntries(params.values), place: new FormData(finder).get("place") });
  });
  const matches = !place ? "" : found.matches.length === 0 ? el("p", { class: "muted", role: "status" }, `No place is called or coded "${place}".`) :
    el("ul", { class: "places", "aria-label": "Places found" }, found.matches.map((m) => el("li", { "data-place": m.place },
      el("a", { href: m.place.startsWith("areas/") ? `#funding?by=field&area=${encodeURIComponent(m.place)}` : `#funding?by=field&party=${encodeURIComponent(m.place)}` }, m.displayName),
      ` — ${m.matchedText}`, el("span", { class: "muted" }, ` (${m.language || api.enumShort("pairing.v1.CodeScheme", m.scheme).toLowerCase().replaceAll("_", " ")})`))));
  root.replaceChildren(
    el("h2", {}, "Areas"),
    finder,
    matches,
    filterForm(api, "areas", params, choices),
    el("p", { class: "lede" }, `Funding by recipient area at revision ${answers[0].revision}; a project's funding is split by its recipients' shares. Each amount carries the least certain status of the projects it sums.`),
    el("ul", { class: "tree", "aria-label": "Area hierarchy" }, roots.map((a) => node(a, 0))),
  );
}
