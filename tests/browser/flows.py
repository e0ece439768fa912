#!/usr/bin/env python3
"""Sejf's web UI in a real browser: Debian's Chromium, headless, through chromedriver (selenium).

Run by `tests/e2e/browser.rs` against a server it started, with users it created; it can also be
run by hand:

    SEJF_UI=http://127.0.0.1:8080 SEJF_SALES=ola:PASSWORD SEJF_AUDITOR=audra:PASSWORD \
    SEJF_SHOTS=target/browser-screenshots SEJF_AXE=tests/browser/node_modules/axe-core/axe.min.js \
    python3 tests/browser/flows.py

The flows: first sign-in with TOTP enrolment, then sign-in with a code; create a person; find
them by e-mail; add a call to their timeline; a deal moved across the pipeline; a masked PESEL
revealed with a purpose; the read in the auditor's trail. On every page: axe-core reports no
serious or critical violation, the browser console shows no CSP violation, and stored XSS
payloads stay text. Each step saves a screenshot. Exits non-zero naming the first failure.
"""

import base64
import hashlib
import hmac
import json
import os
import struct
import sys
import time

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException, StaleElementReferenceException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

BASE = os.environ["SEJF_UI"].rstrip("/")
SHOTS = os.environ.get("SEJF_SHOTS", "browser-screenshots")
AXE = open(os.environ["SEJF_AXE"], encoding="utf-8").read()
XSS = ['<script>alert(1)</script>', '"><img src=x onerror=alert(1)>']
PESEL = "44051401359"

checked_pages = []


def creds(var):
    name, _, password = os.environ[var].partition(":")
    return name, password


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF
    return "%06d" % (value % 1_000_000)


def browser():
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("SEJF_CHROMIUM", "/usr/bin/chromium")
    for arg in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1280,1000", "--lang=en-GB"]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    service = Service(os.environ.get("SEJF_CHROMEDRIVER", "/usr/bin/chromedriver"))
    d = webdriver.Chrome(options=opts, service=service)
    d.set_page_load_timeout(90)
    return d


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def check_page(d, step):
    """Screenshot, axe-core, CSP console messages and no script dialog, on the current page."""
    os.makedirs(SHOTS, exist_ok=True)
    d.save_screenshot(os.path.join(SHOTS, step + ".png"))
    try:
        alert = d.switch_to.alert
        fail(f"{step}: a script dialog opened ({alert.text!r}): a payload ran")
    except NoAlertPresentException:
        pass
    d.execute_script(AXE)
    d.set_script_timeout(30)
    result = d.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']}).then(r => done(JSON.stringify(r.violations)), e => done('ERR ' + e));"
    )
    if result.startswith("ERR"):
        fail(f"{step}: axe-core failed: {result}")
    bad = [v for v in json.loads(result) if v.get("impact") in ("serious", "critical")]
    if bad:
        detail = "; ".join(f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}" for v in bad)
        fail(f"{step} ({d.current_url}): axe-core found {len(bad)} serious or critical violation(s): {detail}")
    for entry in d.get_log("browser"):
        text = entry.get("message", "")
        if "Content Security Policy" in text or "Content-Security-Policy" in text:
            fail(f"{step}: CSP violation in the console: {text}")
    checked_pages.append(d.current_url)


def click_and_wait(d, element):
    """Clicks and waits until the next page has replaced this one."""
    page = d.find_element(By.TAG_NAME, "html")
    element.click()

    def replaced(_):
        # chromedriver sometimes reports a replaced node as "does not belong to the document"
        # (a plain WebDriverException) instead of a stale element: both mean the page changed.
        try:
            page.is_enabled()
            return False
        except (StaleElementReferenceException, WebDriverException):
            return True

    WebDriverWait(d, 90).until(replaced)
    WebDriverWait(d, 90).until(lambda drv: drv.execute_script("return document.readyState") == "complete")


def submit(d, form_selector, fields, selects=None, checks=None):
    form = d.find_element(By.CSS_SELECTOR, form_selector)
    for name, value in fields.items():
        el = form.find_element(By.NAME, name)
        el.clear()
        el.send_keys(value)
    for name, value in (selects or {}).items():
        Select(form.find_element(By.NAME, name)).select_by_value(value)
    for name, value in (checks or {}).items():
        box = form.find_element(By.CSS_SELECTOR, f'input[name="{name}"][value="{value}"]')
        if not box.is_selected():
            box.click()
    click_and_wait(d, form.find_element(By.CSS_SELECTOR, 'button[type="submit"]'))


def first_sign_in(d, who, prefix):
    """Enrols TOTP on the first sign-in, then signs in with a fresh code; answers the secret."""
    name, password = creds(who)
    d.get(BASE + "/")
    if not d.current_url.endswith("/login"):
        fail(f"signed out, / should lead to /login, not {d.current_url}")
    check_page(d, f"{prefix}-01-login")
    submit(d, 'form[action="/login"]', {"username": name, "password": password})
    if not d.current_url.endswith("/enroll"):
        fail(f"the first sign-in should lead to /enroll, not {d.current_url}")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, 'form[action="/enroll/start"] button'))
    if not d.find_elements(By.CSS_SELECTOR, ".qr-box svg"):
        fail("the enrolment page shows no inline SVG QR code")
    check_page(d, f"{prefix}-02-enrol-qr")
    secret = d.find_element(By.CSS_SELECTOR, "code.secret").text.strip()
    step = int(time.time()) // 30
    submit(d, 'form[action="/enroll/confirm"]', {"code": totp(secret, step)})
    codes = d.find_elements(By.CSS_SELECTOR, "ul.codes li")
    if len(codes) != 10:
        fail(f"the recovery codes should be shown once, ten of them; saw {len(codes)}")
    check_page(d, f"{prefix}-03-recovery-codes")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, "a.button.primary"))
    # The confirmation used this step's code: sign in with the next step's (within the window).
    submit(d, 'form[action="/login"]', {"username": name, "password": password, "totp": totp(secret, step + 1)})
    if "/login" in d.current_url or "/enroll" in d.current_url:
        fail(f"sign-in with a TOTP code failed: {d.current_url}")
    return secret


def main():
    d = browser()
    try:
        run(d)
    finally:
        d.quit()
    print(f"browser flows passed: {len(checked_pages)} pages checked with axe-core, no CSP violation; screenshots in {SHOTS}")


def run(d):
    first_sign_in(d, "SEJF_SALES", "sales")
    check_page(d, "sales-04-people")

    # A person whose every text field carries a script payload: it stays text everywhere.
    d.get(BASE + "/people/new")
    submit(d, 'form[action="/people"]', {
        "first_name": XSS[0], "last_name": XSS[1], "email": "xss@firma.pl", "street": XSS[0], "city": XSS[1],
        "notes": XSS[0] + XSS[1],
    })
    if XSS[0] not in d.find_element(By.TAG_NAME, "main").text:
        fail("the stored payload should show as text on the detail page")
    check_page(d, "sales-05-payload-as-text")

    # Create a person and find them by e-mail.
    d.get(BASE + "/people/new")
    check_page(d, "sales-06-new-person")
    submit(d, 'form[action="/people"]', {
        "first_name": "Zofia", "last_name": "Wiśniewska", "email": "zofia.w@firma.pl", "phone": "601 222 333",
        "national_id": PESEL, "street": "ul. Piotrkowska 12", "city": "Łódź", "postal_code": "90-001",
    })
    person_url = d.current_url
    if "/people/" not in person_url:
        fail(f"creating a person should show them, not {person_url}")
    person_id = person_url.rstrip("/").split("/")[-1]
    if "Wiśniewska" not in d.find_element(By.TAG_NAME, "main").text:
        fail("the new person's page should show their name")
    if PESEL in d.page_source:
        fail("a sales user must see the PESEL masked")
    check_page(d, "sales-07-person-detail")
    d.get(BASE + "/people")
    main_text = d.find_element(By.TAG_NAME, "main").text
    if XSS[0] not in main_text or "Wiśniewska" not in main_text:
        fail("the list should show both people, the payload as text")
    check_page(d, "sales-08-people-list")
    submit(d, 'form[action="/people/search"]', {"email": "ZOFIA.W@firma.pl"})
    links = d.find_elements(By.CSS_SELECTOR, f'a[href="/people/{person_id}"]')
    if not links:
        fail("searching by e-mail should find the person")
    check_page(d, "sales-09-search-by-email")
    click_and_wait(d, links[0])

    # A call on the timeline.
    submit(d, 'form[action="/activities"]', {"body": "Rozmowa o ofercie kredytu"}, selects={"kind": "call"})
    if "Rozmowa o ofercie kredytu" not in d.find_element(By.TAG_NAME, "main").text:
        fail("the call should show on the person's timeline")
    check_page(d, "sales-10-timeline-call")

    # A deal, moved across the pipeline with the board's button.
    submit(d, 'form[action="/deals"]', {"title": "Kredyt firmowy", "amount": "12 500,50"})
    d.get(BASE + "/deals")
    check_page(d, "sales-11-pipeline")
    move = d.find_elements(By.CSS_SELECTOR, 'form[data-to="qualified"] button')
    if not move:
        fail("the board should offer a move to the next stage")
    click_and_wait(d, move[0])
    d.get(BASE + "/deals")
    column = d.find_elements(By.XPATH, "//*[@data-stage='qualified']//*[contains(., 'Kredyt firmowy')]")
    if not column:
        fail("the deal should now be in the 'qualified' column")
    check_page(d, "sales-12-pipeline-moved")

    # Reveal the masked PESEL for a purpose.
    d.get(person_url)
    submit(d, f'form[action="/people/{person_id}/reveal"]', {"purpose": "weryfikacja tożsamości do umowy"})
    if PESEL not in d.find_element(By.TAG_NAME, "main").text:
        fail("revealing for a purpose should show the PESEL")
    check_page(d, "sales-13-revealed")

    # A record of another unit is not reachable by URL: the 404 page.
    d.get(BASE + "/people/00000000-0000-7000-8000-000000000000")
    if "Not found" not in d.find_element(By.TAG_NAME, "main").text:
        fail("an unknown record should be the 404 page")
    check_page(d, "sales-14-not-found")
    click_and_wait(d, d.find_element(By.CSS_SELECTOR, 'form[action="/logout"] button'))

    # The auditor sees the reveal, with its purpose, in the trail of this person.
    first_sign_in(d, "SEJF_AUDITOR", "auditor")
    d.get(BASE + f"/audit?subject={person_id}")
    text = d.find_element(By.TAG_NAME, "main").text
    sales_name, _ = creds("SEJF_SALES")
    if "person.reveal" not in text or "weryfikacja tożsamości do umowy" not in text or sales_name not in text:
        fail("the auditor's trail should show the reveal with its purpose and who made it")
    check_page(d, "auditor-04-who-accessed")


if __name__ == "__main__":
    main()
