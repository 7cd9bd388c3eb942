// How figures look: by the reader's locale, with unit and multiplier spelled out, and with the
// status of every figure and its provenance one click away.

const locale = navigator.language || "en";

/** The exact decimal of a google.type.Money, as the API sent it: "169300000000.25". */
export function moneyDecimal(money) {
  if (!money) return "0";
  const units = BigInt(money.units ?? 0n);
  const nanos = Number(money.nanos ?? 0);
  const negative = units < 0n || nanos < 0;
  const whole = (units < 0n ? -units : units).toString();
  const fraction = Math.abs(nanos).toString().padStart(9, "0").replace(/0+$/, "");
  return `${negative ? "-" : ""}${whole}${fraction ? "." + fraction : ""}`;
}

export function moneyNumber(money) {
  return Number(moneyDecimal(money));
}

/** "169.3 billion CNY" in the reader's language; the exact amount is in the title. */
export function formatMoney(money) {
  const value = moneyNumber(money);
  const compact = new Intl.NumberFormat(locale, { notation: "compact", compactDisplay: "long", maximumFractionDigits: 1 }).format(value);
  return `${compact} ${money?.currencyCode || "CNY"}`;
}

export function formatExactMoney(money) {
  const value = moneyNumber(money);
  return `${new Intl.NumberFormat(locale, { maximumFractionDigits: 2 }).format(value)} ${money?.currencyCode || "CNY"}`;
}

const MULTIPLIERS = { 0: "", 3: "thousand", 4: "ten thousand", 6: "million", 8: "hundred million", 9: "billion", 12: "trillion" };

/** A decimal string in an indicator's unit: "3.2 billion CNY", "45,000 people", "6.6 percent". */
export function formatQuantity(decimal, indicator) {
  const value = Number(decimal);
  const number = new Intl.NumberFormat(locale, { maximumFractionDigits: 6 }).format(value);
  if (!indicator) return number;
  const multiplier = MULTIPLIERS[indicator.unitMultiplier] ?? (indicator.unitMultiplier ? `× 10^${indicator.unitMultiplier}` : "");
  return [number, multiplier, indicator.unit].filter(Boolean).join(" ");
}

export function formatNumber(value, digits = 2) {
  return new Intl.NumberFormat(locale, { maximumFractionDigits: digits }).format(Number(value));
}

export function formatShare(decimal) {
  return new Intl.NumberFormat(locale, { style: "percent", maximumFractionDigits: 1 }).format(Number(decimal));
}

export function formatTime(timestamp) {
  if (!timestamp) return "";
  const date = new Date(Number(timestamp.seconds) * 1000 + Math.floor((timestamp.nanos ?? 0) / 1e6));
  return new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium" }).format(date);
}

/** A status badge: SYNTHETIC figures are marked so nobody takes them for reported ones. */
export function statusBadge(api, status, label = "") {
  const name = api.enumShort("pairing.v1.DataStatus", status);
  const badge = el("span", { class: `status status-${name.toLowerCase()}`, "data-status": name, title: STATUS_MEANING[name] ?? name }, label ? `${label}: ${name.toLowerCase()}` : name.toLowerCase());
  return badge;
}

const STATUS_MEANING = {
  REPORTED: "Stated by the cited source",
  ESTIMATED: "Estimated by the source or the programme office",
  PROVISIONAL: "Published as provisional; may be revised",
  COMPUTED: "Computed by the service from other records",
  SYNTHETIC: "Made up for demonstration or testing; never a real figure",
};

/** A button that shows where a figure comes from; the same text is its tooltip. */
export function provenanceButton(provenance) {
  if (!provenance) return el("span", { class: "muted" }, "no source");
  const date = provenance.publishDate ? `${provenance.publishDate.year}-${String(provenance.publishDate.month).padStart(2, "0")}-${String(provenance.publishDate.day).padStart(2, "0")}` : "";
  const lines = [
    provenance.sourceTitle && `Source: ${provenance.sourceTitle}`,
    provenance.publisher && `Publisher: ${provenance.publisher}${date ? ", " + date : ""}`,
    provenance.quotedPassage && `“${provenance.quotedPassage}”`,
    provenance.note && `Note: ${provenance.note}`,
    provenance.sourceUri && provenance.sourceUri,
  ].filter(Boolean);
  const details = el("div", { class: "provenance", hidden: "" }, ...lines.map((line) => el("p", {}, line)));
  const button = el("button", { type: "button", class: "source", title: lines.join("\n"), "aria-expanded": "false" }, "source");
  button.addEventListener("click", () => {
    const open = details.hidden;
    details.hidden = !open;
    button.setAttribute("aria-expanded", String(open));
  });
  return el("span", { class: "provenance-holder" }, button, details);
}

/** Every conversion factor an answer used, each with its status and source; nothing if none. */
export function conversionTable(api, conversions) {
  if (conversions.length === 0) return "";
  return el("section", {}, el("h3", {}, "Conversion factors used"),
    el("table", { class: "figures", "aria-label": "Conversion factors" },
      el("thead", {}, el("tr", {}, ["What", "Year", "Factor", "Period", "Status", "Source"].map((h) => el("th", { scope: "col" }, h)))),
      el("tbody", {}, conversions.map((c) => el("tr", {},
        el("td", {}, c.description), el("td", { class: "n" }, String(c.year)), el("td", { class: "n" }, c.factor),
        el("td", {}, c.period), el("td", {}, statusBadge(api, c.status)), el("td", {}, provenanceButton(c.provenance)))))));
}

/** Creates an element: el("td", {class: "n"}, "text", child). */
export function el(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes)) {
    if (value === undefined || value === null || value === false) continue;
    element.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : String(child));
  }
  return element;
}
