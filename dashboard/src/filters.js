// The funding filters shared by the funding and area views: read from the link, turned into the
// API's own AIP-160 filter, and offered as a form whose submission is a new link.
import { BadParameter, link } from "./params.js";
import { el } from "./format.js";

export const FILTER_KEYS = ["from", "to", "field", "party", "area", "livelihood", "status", "currency", "rates", "base"];

const NAME = /^[a-z]+\/[A-Za-z0-9._~-]+$/;

/** The SummarizeFunding request fields the link asks for. */
export function fundingRequest(api, params) {
  const clauses = [];
  const field = params.enumValue(api, "field", "pairing.v1.SupportField");
  if (field) clauses.push(`field = ${api.enumShort("pairing.v1.SupportField", field)}`);
  for (const key of ["party", "area"]) {
    const name = params.text(key);
    if (!name) continue;
    if (!NAME.test(name)) throw new BadParameter(`${key}: "${name}" is not a resource name such as ${key === "party" ? "parties/beijing" : "areas/kashgar"}`);
    clauses.push(`${key} = "${name}"`);
  }
  const livelihood = params.text("livelihood");
  if (livelihood) {
    if (!["true", "false"].includes(livelihood)) throw new BadParameter(`livelihood: "${livelihood}" is not true or false`);
    clauses.push(`livelihood = ${livelihood}`);
  }
  const status = params.enumValue(api, "status", "pairing.v1.ProjectStatus");
  if (status) clauses.push(`status = ${api.enumShort("pairing.v1.ProjectStatus", status)}`);
  const currency = params.text("currency").toUpperCase();
  if (currency && !/^[A-Z]{3}$/.test(currency)) throw new BadParameter(`currency: "${currency}" is not a three-letter currency code`);
  const rates = params.text("rates");
  if (rates && !NAME.test(rates)) throw new BadParameter(`rates: "${rates}" is not an indicator's name such as indicators/cny-per-usd`);
  const startYear = params.year("from");
  const endYear = params.year("to");
  if (startYear && endYear && startYear > endYear) throw new BadParameter(`from: ${startYear} is after to: ${endYear}`);
  return {
    filter: clauses.join(" AND "),
    startYear,
    endYear,
    currencyCode: currency === "CNY" ? "" : currency,
    exchangeRateSeries: rates,
    priceBaseYear: params.year("base"),
  };
}

/** The filter form; `extra` are the view's own inputs; submitting navigates to the new link. */
export function filterForm(api, view, params, choices, extra = []) {
  const select = (name, label, options, current) =>
    el("label", {}, label, el("select", { name }, el("option", { value: "" }, "any"),
      options.map(([value, text]) => el("option", { value, selected: value === current }, text))));
  const input = (name, label, attributes = {}) =>
    el("label", {}, label, el("input", { name, value: params.text(name), ...attributes }));
  const enumOptions = (fullName) => api.enumValues(fullName).map((v) => [v.short.toLowerCase(), v.short.toLowerCase().replaceAll("_", " ")]);
  const form = el("form", { class: "filters", "aria-label": "Filters" },
    ...extra,
    input("from", "From year", { inputmode: "numeric", size: 5, placeholder: "2013" }),
    input("to", "To year", { inputmode: "numeric", size: 5, placeholder: "2022" }),
    select("field", "Field", enumOptions("pairing.v1.SupportField"), params.text("field").toLowerCase()),
    select("party", "Party", choices.parties.map((p) => [p.name, p.displayName]), params.text("party")),
    select("area", "Area", choices.areas.map((a) => [a.name, a.displayName]), params.text("area")),
    select("livelihood", "Livelihood", [["true", "yes"], ["false", "no"]], params.text("livelihood")),
    select("status", "Project status", enumOptions("pairing.v1.ProjectStatus"), params.text("status").toLowerCase()),
    select("currency", "Currency", [["CNY", "CNY (yuan)"], ["USD", "USD (dollars)"]], params.text("currency").toUpperCase()),
    input("rates", "Rate series", { size: 22, placeholder: "any stored" }),
    input("base", "Constant prices of", { inputmode: "numeric", size: 5, placeholder: "current" }),
    el("button", { type: "submit" }, "Show"),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const values = Object.fromEntries(new FormData(form).entries());
    location.hash = link(view, values);
  });
  return form;
}

/** Parties and areas for the form's choices. */
export async function loadChoices(api) {
  const [parties, areas] = await Promise.all([
    api.listAll("PartyService", "listParties", {}, "parties"),
    api.listAll("AreaService", "listAreas", { orderBy: "display_name" }, "areas"),
  ]);
  return { parties, areas };
}
