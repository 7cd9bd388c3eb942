// The dashboard: a read-only client of the public API. Every figure on screen is an answer the
// API gave, shown with its status and its source.
import "./style.css";
import { Api, saveToken, savedToken } from "./api.js";
import { el } from "./format.js";
import { BadParameter, Params } from "./params.js";
import * as funding from "./views/funding.js";
import * as areas from "./views/areas.js";
import * as indicator from "./views/indicator.js";
import * as reconciliation from "./views/reconciliation.js";
import * as changes from "./views/changes.js";

const VIEWS = {
  funding: { title: "Funding", module: funding },
  areas: { title: "Areas", module: areas },
  indicator: { title: "Indicators", module: indicator },
  reconciliation: { title: "Reconciliation", module: reconciliation },
  changes: { title: "Recent changes", module: changes },
};

const root = document.getElementById("view");
let leaving = new AbortController();

function tokenForm() {
  const input = el("input", { type: "password", name: "token", autocomplete: "off", value: savedToken(), placeholder: "only if reads need one" });
  const form = el("form", { class: "token", "aria-label": "Access token" }, el("label", {}, "Token ", input), el("button", { type: "submit" }, "Use"));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    saveToken(input.value.trim());
    show();
  });
  return form;
}

async function show() {
  leaving.abort();
  leaving = new AbortController();
  const started = performance.now();
  const [name, search = ""] = location.hash.replace(/^#/, "").split("?");
  const view = VIEWS[name || "funding"];
  document.body.removeAttribute("data-ready");
  document.body.removeAttribute("data-error");
  for (const a of document.querySelectorAll("nav a")) {
    if (a.getAttribute("href") === `#${name || "funding"}`) a.setAttribute("aria-current", "page");
    else a.removeAttribute("aria-current");
  }
  root.replaceChildren(el("p", { class: "muted", role: "status" }, "Loading…"));
  try {
    if (!view) throw new BadParameter(`there is no view "${name}" (one of ${Object.keys(VIEWS).join(", ")})`);
    document.title = `${view.title} · pairing-aid`;
    await view.module.render(api, new Params(search, view.module.KEYS), root, leaving.signal);
  } catch (error) {
    if (leaving.signal.aborted) return;
    const message = error instanceof BadParameter ? `This link cannot be shown: ${error.message}.` : `The API refused: ${api.explain(error)}`;
    root.replaceChildren(el("h2", {}, view?.title ?? "Not found"), el("p", { class: "error", role: "alert" }, message), el("p", {}, el("a", { href: `#${view ? name : "funding"}` }, "Start again")));
    document.body.dataset.error = message;
  }
  document.body.dataset.renderMs = String(Math.round(performance.now() - started));
  document.body.dataset.ready = name || "funding";
}

document.getElementById("token").replaceWith(tokenForm());
const api = await Api.connect(new URL("..", document.baseURI).href.replace(/\/$/, ""));
window.addEventListener("hashchange", show);
show();
