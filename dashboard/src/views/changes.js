// The record's recent changes, then the new ones live over WatchChanges until the view is left.
// Both are bounded: a bulk import commits thousands of records at once, and the page shows the
// newest hundred.
import { el, formatTime } from "../format.js";

export const KEYS = ["last"];

const SHOWN = 100;

export async function render(api, params, root, signal) {
  const back = BigInt(params.count("last") || 5);
  const { revision } = await api.service("PartyService").listParties({ pageSize: 1 });
  const start = revision > back ? revision - back : 0n;
  const recent = await api.service("RecordService").listChanges({ afterRevision: start, pageSize: SHOWN });
  const body = el("tbody", { "aria-live": "polite" });
  const status = el("p", { class: "lede", role: "status" });
  const add = (changes) => {
    for (const change of changes) body.prepend(row(api, change));
    while (body.rows.length > SHOWN) body.deleteRow(body.rows.length - 1);
  };
  add(recent.changes);
  const more = recent.changes.length === SHOWN ? ` (the first ${SHOWN} of them)` : "";
  status.textContent = `Changes after revision ${start}${more}, newest first; following new commits live from revision ${revision}.`;
  root.replaceChildren(
    el("h2", {}, "Recent changes"),
    status,
    el("table", { class: "figures", "aria-label": "Recent changes" },
      el("thead", {}, el("tr", {}, ["Revision", "When", "Change", "Resource", "By"].map((h) => el("th", { scope: "col" }, h)))),
      body));
  const follow = async () => {
    for await (const response of api.service("RecordService").watchChanges({ startRevision: revision }, { signal })) {
      add(response.changes.slice(-SHOWN));
      status.textContent = `Live: the record is at revision ${response.changes.at(-1)?.revision}; newest first.`;
    }
  };
  follow().catch((error) => {
    if (!signal.aborted) status.replaceChildren(el("span", { class: "error", role: "alert" }, `The live list stopped: ${api.explain(error)}`));
  });
}

function row(api, change) {
  const resource = change.record?.resource?.value;
  const label = resource?.displayName || resource?.title;
  return el("tr", { "data-revision": String(change.revision), "data-name": change.name },
    el("td", { class: "n" }, String(change.revision)),
    el("td", {}, formatTime(change.commitTime)),
    el("td", {}, api.enumShort("pairing.v1.ChangeKind", change.kind).toLowerCase()),
    el("td", {}, label ? `${label} (${change.name})` : change.name),
    el("td", {}, change.subject || "anonymous"));
}
