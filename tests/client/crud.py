#!/usr/bin/env python3
"""Sejf's OpenAPI document is good enough to generate a client from: this script generates one
with openapi-python-client (PyPI) from the server's /api/v1/openapi.json, imports it, and drives
the first sign-in (TOTP enrolment, then a code) and a person's whole life (create, read, update
with If-Match, a stale update refused, delete, gone) through the generated code only.

Run by tests/e2e/dataio.rs with SEJF_API (the server's base URL), SEJF_USER ("name:password") and
SEJF_WORK (a scratch directory). Exits non-zero naming the first failure.
"""

import base64
import hashlib
import hmac
import importlib
import json
import os
import struct
import subprocess
import sys
import time
import urllib.request

BASE = os.environ["SEJF_API"].rstrip("/")
WORK = os.environ["SEJF_WORK"]
NAME, _, PASSWORD = os.environ["SEJF_USER"].partition(":")


def fail(msg):
    print("FAIL: " + msg, file=sys.stderr)
    sys.exit(1)


def totp(secret_b32, step):
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    digest = hmac.new(key, struct.pack(">Q", step), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    return "%06d" % ((struct.unpack(">I", digest[offset:offset + 4])[0] & 0x7FFFFFFF) % 1_000_000)


def generate():
    doc = os.path.join(WORK, "openapi.json")
    with urllib.request.urlopen(BASE + "/api/v1/openapi.json") as r, open(doc, "wb") as f:
        f.write(r.read())
    out = os.path.join(WORK, "sejf_client")
    gen = subprocess.run(
        ["openapi-python-client", "generate", "--path", doc, "--meta", "none", "--output-path", out, "--overwrite"],
        capture_output=True, text=True,
    )
    if gen.returncode != 0:
        fail("openapi-python-client could not generate a client:\n" + gen.stdout + gen.stderr)
    warnings = [l for l in (gen.stdout + gen.stderr).splitlines() if "WARNING" in l.upper() or "could not" in l.lower()]
    if warnings:
        fail("the generator warned about the document:\n" + "\n".join(warnings))
    sys.path.insert(0, WORK)
    return importlib.import_module("sejf_client")


def main():
    generate()
    from sejf_client import AuthenticatedClient, Client
    from sejf_client.api.auth import post_auth_login, post_auth_mfa_confirm, post_auth_mfa_enroll
    from sejf_client.api.people import delete_people_id, get_people_id, patch_people_id, post_people
    from sejf_client.models import ConfirmIn, LoginIn, PatchPeopleIdBody, PersonIn, PersonOut, Problem

    anon = Client(base_url=BASE)
    first = post_auth_login.sync_detailed(client=anon, body=LoginIn(username=NAME, password=PASSWORD))
    if first.status_code != 200 or first.parsed.mfa != "enroll":
        fail(f"first sign-in should ask for enrolment: {first.status_code} {first.content!r}")
    enrolling = AuthenticatedClient(base_url=BASE, token=first.parsed.token)
    enrolled = post_auth_mfa_enroll.sync_detailed(client=enrolling)
    secret = enrolled.parsed.secret
    step = int(time.time()) // 30
    confirmed = post_auth_mfa_confirm.sync_detailed(client=enrolling, body=ConfirmIn(code=totp(secret, step)))
    if confirmed.status_code != 200 or len(confirmed.parsed.recovery_codes) != 10:
        fail(f"enrolment confirm failed: {confirmed.status_code} {confirmed.content!r}")
    signed = post_auth_login.sync_detailed(client=anon, body=LoginIn(username=NAME, password=PASSWORD, totp=totp(secret, step + 1)))
    if signed.status_code != 200:
        fail(f"sign-in with a code failed: {signed.status_code} {signed.content!r}")
    api = AuthenticatedClient(base_url=BASE, token=signed.parsed.token)

    created = post_people.sync_detailed(client=api, body=PersonIn(first_name="Zofia", last_name="Wiśniewska", email="zofia@klient.pl", phone="601 222 333"))
    if created.status_code != 201 or not isinstance(created.parsed, PersonOut):
        fail(f"create failed: {created.status_code} {created.content!r}")
    pid = created.parsed.id
    if not created.headers.get("location", "").endswith(f"/api/v1/people/{pid}") or created.headers.get("etag") != '"1"':
        fail(f"create should answer Location and ETag: {dict(created.headers)}")
    read = get_people_id.sync_detailed(pid, client=api)
    if read.status_code != 200 or read.parsed.phone != "+48601222333":
        fail(f"read failed: {read.status_code} {read.content!r}")
    etag = read.headers["etag"]
    updated = patch_people_id.sync_detailed(pid, client=api, body=PatchPeopleIdBody.from_dict({"last_name": "Nowak"}), if_match=etag)
    if updated.status_code != 200 or updated.parsed.last_name != "Nowak" or updated.headers.get("etag") != '"2"':
        fail(f"update failed: {updated.status_code} {updated.content!r}")
    stale = patch_people_id.sync_detailed(pid, client=api, body=PatchPeopleIdBody.from_dict({"last_name": "Stara"}), if_match=etag)
    if stale.status_code != 412 or not isinstance(stale.parsed, Problem):
        fail(f"a stale If-Match should be a 412 problem: {stale.status_code} {stale.content!r}")
    deleted = delete_people_id.sync_detailed(pid, client=api)
    if deleted.status_code != 204:
        fail(f"delete failed: {deleted.status_code} {deleted.content!r}")
    gone = get_people_id.sync_detailed(pid, client=api)
    if gone.status_code != 404 or not isinstance(gone.parsed, Problem):
        fail(f"a deleted person should be a 404 problem: {gone.status_code} {gone.content!r}")
    print("generated client passed: sign-in with enrolment, create, read, update, stale update refused, delete")


if __name__ == "__main__":
    main()
