"""Drives the dashboard in headless Chromium against a running pairing-aid, as an analyst would,
and checks every figure on screen against the API's own answer to the same question, asked with
grpcurl (a third client, independent of the page's gRPC-Web one).

Usage: browse.py --address HOST:PORT --screenshots DIR [--admin-token T] [--scenario NAME]
Scenarios: views (every view, links, bad input, live changes, keyboard, phone width),
token (a server that wants a token for reads), timing (first view of each, for benchmarks).
Exits non-zero with the first failed check.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from decimal import Decimal

from playwright.sync_api import sync_playwright

VIEWS = {
    "funding": "#funding",
    "areas": "#areas",
    "indicator": "#indicator",
    "reconciliation": "#reconciliation",
    "changes": "#changes",
}


class Check:
    def __init__(self, args):
        self.args = args
        self.base = f"http://{args.address}/dashboard/"
        self.console_errors = []
        self.timings = {}

    # --- the API, through grpcurl ---------------------------------------------------------
    def grpc(self, method, body, token=None):
        command = [self.args.grpcurl, "-plaintext", "-format-error"]
        if token:
            command += ["-H", f"authorization: Bearer {token}"]
        command += ["-d", json.dumps(body), self.args.address, method]
        done = subprocess.run(command, capture_output=True, text=True, timeout=60)
        if done.returncode != 0:
            fail(f"grpcurl {method} {body}: {done.stderr or done.stdout}")
        return json.loads(done.stdout) if done.stdout.strip() else {}

    # --- the page -------------------------------------------------------------------------
    def open(self, page, fragment):
        """Loads the dashboard at `fragment` from scratch and waits until the view is shown."""
        page.goto("about:blank")
        started = time.monotonic()
        page.goto(self.base + fragment)
        page.wait_for_selector("body[data-ready]", timeout=30_000)
        elapsed_ms = (time.monotonic() - started) * 1000
        return elapsed_ms

    def screenshot(self, page, name):
        os.makedirs(self.args.screenshots, exist_ok=True)
        page.screenshot(path=os.path.join(self.args.screenshots, f"{name}.png"), full_page=True)

    def no_error_shown(self, page, fragment):
        error = page.get_attribute("body", "data-error")
        if error:
            fail(f"{fragment} shows an error: {error}")


def money(m):
    return Decimal(m.get("units", "0")) + Decimal(m.get("nanos", 0)) / Decimal(1_000_000_000)


def wait_until(condition, what, seconds=10):
    """Polls `condition` from outside the page: the page's policy forbids evaluating strings in it,
    which Playwright's wait_for_function would do."""
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            fail(f"waited {seconds} s for {what}")
        time.sleep(0.05)


def fail(message):
    print(f"FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def expect(condition, message):
    if not condition:
        fail(message)


def amounts_on_page(page, selector):
    """{data-key: Decimal(data-amount)} of the funding table's rows."""
    rows = page.eval_on_selector_all(
        selector,
        "rows => rows.map(r => [r.dataset.key, r.querySelector('td[data-amount]').dataset.amount])",
    )
    return {key: Decimal(amount) for key, amount in rows}


def check_funding(check, page):
    elapsed = check.open(page, "#funding")
    check.timings["funding"] = elapsed
    check.no_error_shown(page, "#funding")
    answer = check.grpc("pairing.v1.AnalyticsService/SummarizeFunding", {"groupBy": ["FUNDING_DIMENSION_FIELD"]})
    shown = amounts_on_page(page, "table[aria-label='Funding groups'] tr[data-key]")
    expected = {"|".join(k["value"] for k in g["keys"]): money(g["amount"]) for g in answer["groups"]}
    expected["total"] = money(answer["total"]["amount"])
    expect(shown == expected, f"funding by field: page {shown} != API {expected}")
    # Every group shows the status the API gives it and what its amount rests on; every demo
    # project is synthetic, so each group says so, and so do the bars.
    shown_status = dict(page.eval_on_selector_all(
        "table[aria-label='Funding groups'] tr[data-key]",
        "rows => rows.map(r => [r.dataset.key, r.querySelector('[data-group-status]').dataset.groupStatus])"))
    expected_status = {"|".join(k["value"] for k in g["keys"]): g["status"].removeprefix("DATA_STATUS_") for g in answer["groups"]}
    expected_status["total"] = answer["total"]["status"].removeprefix("DATA_STATUS_")
    expect(shown_status == expected_status, f"group statuses: page {shown_status} != API {expected_status}")
    expect(set(shown_status.values()) == {"SYNTHETIC"}, f"every demo group is synthetic: {shown_status}")
    coverage = page.eval_on_selector_all(
        "table[aria-label='Funding groups'] tfoot [data-group-status] .composition",
        "parts => parts.map(p => [p.querySelector('[data-status]').dataset.status, p.querySelector('[data-value]').dataset.value])")
    expected_coverage = [[c["status"].removeprefix("DATA_STATUS_"), c["value"]] for c in answer["total"]["coverage"]]
    expect(coverage == expected_coverage, f"the total's coverage: {coverage} != {expected_coverage}")
    expect(page.locator("svg.bars rect.bar.synthetic").count() == len(answer["groups"]), "synthetic bars are hatched")
    expect("synthetic" in page.inner_text("p.lede").lower(), "the lede warns of synthetic records")
    check.screenshot(page, "funding")

    # A shared link: the view it names, the form showing what it asks, the API's answer.
    link = "#funding?by=party&from=2015&to=2020&field=education&currency=USD"
    check.open(page, link)
    check.no_error_shown(page, link)
    answer = check.grpc("pairing.v1.AnalyticsService/SummarizeFunding", {
        "groupBy": ["FUNDING_DIMENSION_PARTY"], "startYear": 2015, "endYear": 2020,
        "filter": "field = EDUCATION", "currencyCode": "USD"})
    shown = amounts_on_page(page, "table[aria-label='Funding groups'] tr[data-key]")
    expected = {"|".join(k["value"] for k in g["keys"]): money(g["amount"]) for g in answer["groups"]}
    expected["total"] = money(answer["total"]["amount"])
    expect(shown == expected, f"shared link: page {shown} != API {expected}")
    expect(page.input_value("select[name=field]") == "education", "the form shows the link's field")
    expect(page.input_value("input[name=from]") == "2015", "the form shows the link's first year")
    expect(page.input_value("select[name=currency]") == "USD", "the form shows the link's currency")
    factors = page.locator("table[aria-label='Conversion factors'] tbody tr").count()
    expect(factors == len(answer.get("conversions", [])) and factors > 0, f"conversion factors listed: {factors}")
    expect("USD" in page.inner_text("table[aria-label='Funding groups'] tfoot"), "amounts are in USD")
    check.screenshot(page, "funding-shared-link")

    # Changing the form makes a new link.
    page.select_option("select[name=by]", "year")
    page.click("form.filters button[type=submit]")
    wait_until(lambda: "by=year" in page.url and page.get_attribute("body", "data-ready"), "the year view after the form")
    expect("from=2015" in page.url, "the new link keeps the other filters")


def check_areas(check, page):
    check.timings["areas"] = check.open(page, "#areas")
    check.no_error_shown(page, "#areas")
    answer = check.grpc("pairing.v1.AnalyticsService/SummarizeFunding",
                        {"groupBy": ["FUNDING_DIMENSION_AREA"], "areaLevel": "AREA_LEVEL_PREFECTURE"})
    shown = dict(page.eval_on_selector_all(
        "ul.tree li[data-area]", "items => items.map(i => [i.dataset.area, i.querySelector('.amount')?.dataset.amount])"))
    expect(answer["groups"], "the API has funding by prefecture")
    for group in answer["groups"]:
        name = group["keys"][0]["value"]
        expect(name in shown and shown[name] is not None, f"{name} is in the tree with an amount")
        expect(Decimal(shown[name]) == money(group["amount"]), f"{name}: page {shown[name]} != API {money(group['amount'])}")
    expect(page.locator("ul.tree [data-status=SYNTHETIC]").count() > 0, "synthetic amounts are marked in the tree")
    expect(page.locator("li[data-area='areas/yarkant'] [data-codes]").get_attribute("data-codes") == "653125",
           "an area shows its official code")
    check.screenshot(page, "areas")
    # A place found by a name in another script, as the API finds it.
    page.fill("input[name=place]", "莎车")
    page.click("form[aria-label='Find a place'] button")
    page.wait_for_selector("ul.places li[data-place]")
    found = page.eval_on_selector_all("ul.places li[data-place]", "items => items.map(i => i.dataset.place)")
    answer = check.grpc("pairing.v1.AreaService/ResolvePlaces", {"query": "莎车"})
    expect(found == [m["place"] for m in answer["matches"]] == ["areas/yarkant"], f"found {found}")
    check.screenshot(page, "areas-found")


def check_indicator(check, page):
    check.timings["indicator"] = check.open(page, "#indicator")
    check.no_error_shown(page, "#indicator")
    # The view picks a series; ask the API for the same one and compare, then follow a link to
    # the series the article's figures are in.
    indicator = page.input_value("select[name=indicator]")
    area = page.input_value("select[name=area]")
    answer = check.grpc("pairing.v1.AnalyticsService/GetIndicatorSeries", {
        "indicator": indicator, "areas": [area],
        "derivations": ["DERIVATION_YEAR_ON_YEAR", "DERIVATION_CAGR", "DERIVATION_INDEX", "DERIVATION_DOUBLING_TIME"]})
    observations = answer["series"][0].get("observations", [])
    shown = page.eval_on_selector_all(
        "table[aria-label='Observations'] tbody tr",
        "rows => rows.map(r => [r.dataset.observation, r.querySelector('[data-value]').dataset.value, r.querySelector('[data-status]').dataset.status, r.querySelector('[data-reading]').dataset.reading])")
    readings = {"READING_PRINTED": "printed", "READING_INTERPRETED": "read from words"}
    expected = [[o["name"], o["value"], o["status"].removeprefix("DATA_STATUS_"), readings.get(o.get("reading"), "")]
                for o in observations]
    expect(shown == expected, f"{indicator} in {area}: page {shown} != API {expected}")
    passed_over = page.eval_on_selector_all(
        "table[aria-label='Observations'] tbody td[data-passed-over]", "cells => cells.map(c => c.dataset.passedOver)")
    competing = {c["chosen"]: " ".join(c["passedOver"]) for c in answer["series"][0].get("competing", [])}
    expect(passed_over == [competing.get(o["name"], "") for o in observations], f"competing figures: {passed_over}")
    derived = page.eval_on_selector_all("table[aria-label='Derived figures'] tbody td[data-value]", "cells => cells.map(c => c.dataset.value)")
    expect(derived == [d["value"] for d in answer["series"][0].get("derived", [])], f"derived figures: {derived}")
    expect(page.locator("svg.line circle.point").count() == len(observations), "one point per observation")
    # Provenance one click away: the quoted passage of the first observation.
    passage = observations[0]["provenance"].get("quotedPassage") or observations[0]["provenance"].get("sourceTitle")
    page.click("table[aria-label='Observations'] tbody tr:first-child button.source")
    expect(passage in page.inner_text("table[aria-label='Observations'] tbody tr:first-child .provenance"),
           f"the source shows {passage!r}")
    check.screenshot(page, "indicator")


def check_reconciliation(check, page):
    check.timings["reconciliation"] = check.open(page, "#reconciliation")
    check.no_error_shown(page, "#reconciliation")
    answer = check.grpc("pairing.v1.AnalyticsService/ReconcileReportedFigures", {})
    rows = page.eval_on_selector_all(
        "table[aria-label='Reconciliation'] tbody tr",
        """rows => rows.map(r => ({name: r.dataset.observation, reported: r.cells[1].querySelector('[data-value]').dataset.value,
            computed: r.cells[2].dataset.value, difference: r.cells[3].dataset.value,
            satisfied: r.cells[4].dataset.satisfied, independent: r.cells[5].dataset.independent,
            input: r.cells[6].querySelector('[data-status]').dataset.status}))""")
    expected = [{"name": r["reported"]["name"], "reported": r["reported"]["value"], "computed": r["computedValue"],
                 "difference": r["difference"], "satisfied": str(r.get("qualifierSatisfied", False)).lower(),
                 "independent": str(r.get("independent", False)).lower(),
                 "input": r["inputStatus"].removeprefix("DATA_STATUS_")} for r in answer["reconciliations"]]
    expect(rows == expected, f"reconciliation: page {rows} != API {expected}")
    expect(any(r["input"] == "SYNTHETIC" for r in rows), "figures computed from synthetic records say so")
    expect([r["name"] for r in rows if r["independent"] == "false"] == ["observations/assistance-funds-usd-2013-2022"],
           "the dollar figure, checked through a rate computed from it, is not independent")
    checked = check.grpc("pairing.v1.AnalyticsService/CheckConsistency", {})
    rows = page.eval_on_selector_all(
        "table[aria-label='Consistency'] tbody tr",
        """rows => rows.map(r => ({name: r.dataset.observation, stated: r.cells[1].querySelector('[data-value]').dataset.value,
            implied: r.cells[2].dataset.value, consistent: r.cells[4].dataset.consistent,
            independent: r.cells[5].dataset.independent, reason: r.cells[7].textContent}))""")
    expected = [{"name": c["checked"]["name"], "stated": c["checked"]["value"], "implied": c["impliedValue"],
                 "consistent": str(c.get("consistent", False)).lower(),
                 "independent": str(c.get("independent", False)).lower(), "reason": c.get("explanation", "")}
                for c in checked["checks"]]
    expect(rows == expected, f"consistency: page {rows} != API {expected}")
    expect(any(r["consistent"] == "false" and "price bases differ" in r["reason"] for r in rows),
           "the article's doubling against its growth rate is shown as not consistent, with the likely reason")
    check.screenshot(page, "reconciliation")


def check_changes(check, page):
    check.timings["changes"] = check.open(page, "#changes")
    check.no_error_shown(page, "#changes")
    page.wait_for_selector("table[aria-label='Recent changes'] tbody tr", timeout=10_000)
    party = f"dashboard-{uuid.uuid4().hex[:8]}"
    check.grpc("pairing.v1.PartyService/CreateParty", {
        "partyId": party, "requestId": str(uuid.uuid4()),
        "party": {"kind": "PARTY_KIND_ENTERPRISE", "displayName": "Dashboard Test Enterprise", "homeArea": "Nowhere"}},
        token=check.args.admin_token)
    page.wait_for_selector(f"table[aria-label='Recent changes'] tr[data-name='parties/{party}']", timeout=10_000)
    expect("Dashboard Test Enterprise" in page.inner_text("table[aria-label='Recent changes'] tbody tr:first-child"),
           "the newest change is listed first, by its name for people")
    check.screenshot(page, "changes")


def check_bad_input(check, page):
    for fragment, said in [
        ("#funding?by=nonsense", 'by: unknown dimension "nonsense"'),
        ("#funding?from=20x5", 'from: "20x5" is not a year'),
        ("#funding?colour=red", 'unknown parameter "colour"'),
        ("#areas?to=1850", 'to: "1850" is not a year'),
        ("#indicator?indicator=indicators/nope", 'indicator: "indicators/nope" is not in the record'),
        ("#nowhere", 'there is no view "nowhere"'),
        ("#funding?currency=USD&rates=indicators/gdp", "exchange_rate_series: indicators/gdp is not a series"),
        ("#reconciliation?filter=colour%20%3D%20red", "INVALID_ARGUMENT"),
    ]:
        check.open(page, fragment)
        alert = page.inner_text("[role=alert]")
        expect(said in alert, f"{fragment} says {said!r}; it says {alert!r}")
    # The API's own refusal names the field it is about.
    expect("filter" in page.inner_text("[role=alert]"), "the API's refusal names the filter")
    check.screenshot(page, "bad-input")


def check_keyboard_and_phone(check, browser):
    page = browser.new_page(viewport={"width": 390, "height": 844}, locale="en-US")
    watch_console(check, page)
    check.open(page, "#funding")
    overflow = page.eval_on_selector("html", "html => html.scrollWidth - window.innerWidth")
    expect(overflow <= 1, f"the page fits a phone's width (overflow {overflow}px)")
    check.screenshot(page, "funding-phone")
    # Keyboard only: tab to the second view's link and follow it.
    page.keyboard.press("Tab")
    page.keyboard.press("Tab")
    focused = page.eval_on_selector(":focus", "element => element.getAttribute('href')")
    expect(focused == "#areas", f"the second tab stop is the Areas link, not {focused}")
    page.keyboard.press("Enter")
    wait_until(lambda: page.url.endswith("#areas") and page.get_attribute("body", "data-ready") == "areas", "the Areas view by keyboard")
    expect(page.locator("nav a[aria-current=page]").inner_text() == "Areas", "the current view is marked")
    page.close()


def check_token(check, page):
    check.open(page, "#funding")
    alert = page.inner_text("[role=alert]")
    expect("UNAUTHENTICATED" in alert.upper() and "token" in alert, f"without a token the view says one is needed: {alert!r}")
    page.fill("input[name=token]", check.args.read_token)
    page.click("form.token button")
    page.wait_for_selector("table[aria-label='Funding groups']", timeout=10_000)
    check.no_error_shown(page, "#funding with a token")
    check.screenshot(page, "token")


def watch_console(check, page):
    page.on("console", lambda message: message.type == "error" and check.console_errors.append(message.text))
    page.on("pageerror", lambda error: check.console_errors.append(str(error)))


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--address", required=True)
    parser.add_argument("--screenshots", required=True)
    parser.add_argument("--admin-token", default="")
    parser.add_argument("--read-token", default="")
    parser.add_argument("--scenario", default="views", choices=["views", "token", "timing"])
    parser.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    parser.add_argument("--grpcurl", default=shutil.which("grpcurl") or "grpcurl")
    args = parser.parse_args()
    check = Check(args)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=args.chromium, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1280, "height": 800}, locale="en-US")
        watch_console(check, page)
        if args.scenario == "views":
            check_funding(check, page)
            check_areas(check, page)
            check_indicator(check, page)
            check_reconciliation(check, page)
            check_changes(check, page)
            check_bad_input(check, page)
            check_keyboard_and_phone(check, browser)
        elif args.scenario == "token":
            check_token(check, page)
        else:
            for name, fragment in VIEWS.items():
                best = min(check.open(page, fragment) for _ in range(3))
                check.no_error_shown(page, fragment)
                check.timings[name] = best
        browser.close()
    expect(not check.console_errors, f"the console shows errors: {check.console_errors}")
    print(json.dumps({"first_view_ms": {k: round(v) for k, v in check.timings.items()}}))


if __name__ == "__main__":
    main()
