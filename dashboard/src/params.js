// A view's state lives in the URL (`#funding?by=field&from=2015`), so a view is a link. Bad
// input is reported by name; it never reaches the API as something else.

export class BadParameter extends Error {}

export class Params {
  constructor(search, known) {
    this.values = new URLSearchParams(search);
    for (const key of this.values.keys()) {
      if (!known.includes(key)) {
        throw new BadParameter(`unknown parameter "${key}" in the link (this view knows: ${known.join(", ")})`);
      }
    }
  }

  text(key, fallback = "") {
    return (this.values.get(key) ?? fallback).trim();
  }

  /** A year (1900-2100), or 0 when absent. */
  year(key) {
    const text = this.text(key);
    if (!text) return 0;
    if (!/^\d{4}$/.test(text) || Number(text) < 1900 || Number(text) > 2100) {
      throw new BadParameter(`${key}: "${text}" is not a year (four digits, 1900-2100)`);
    }
    return Number(text);
  }

  count(key) {
    const text = this.text(key);
    if (!text) return 0;
    if (!/^\d{1,4}$/.test(text)) throw new BadParameter(`${key}: "${text}" is not a whole number`);
    return Number(text);
  }

  /** A value of enum `fullName` by its short name (`field=education`), or 0 when absent. */
  enumValue(api, key, fullName) {
    const text = this.text(key);
    if (!text) return 0;
    const number = api.enumNumber(fullName, text);
    if (number === undefined || number === 0) {
      const allowed = api.enumValues(fullName).map((v) => v.short.toLowerCase());
      throw new BadParameter(`${key}: unknown value "${text}" (one of ${allowed.join(", ")})`);
    }
    return number;
  }

  list(key, fallback) {
    const text = this.text(key, fallback);
    return text ? text.split(",").map((part) => part.trim()).filter(Boolean) : [];
  }
}

/** The hash for `view` with the non-empty `values`. */
export function link(view, values) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(values)) {
    if (value !== undefined && value !== null && value !== "" && value !== 0) search.set(key, String(value));
  }
  const query = search.toString();
  return `#${view}${query ? "?" + query : ""}`;
}
