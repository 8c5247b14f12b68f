#!/usr/bin/env python3
"""Publish-to-served latency, one sample.

Usage: latency.py URL STAGED_DIR TARGET_DIR NEEDLE TIMEOUT_SECS

Renames STAGED_DIR (a complete article folder written beforehand) to TARGET_DIR (inside
the served content folder), then asks URL over one keep-alive connection, revalidating
with the last ETag so that an unchanged feed costs a 304, until the body contains
NEEDLE. Prints the seconds from the rename to that response; exits 1 on timeout.
Polling this way adds well under a millisecond to each sample, where a curl process
per poll would add several.
"""

import http.client
import os
import sys
import time
import urllib.parse


def main() -> int:
    url, staged, target, needle, timeout = sys.argv[1:6]
    u = urllib.parse.urlsplit(url)
    needle_b = needle.encode()
    limit = float(timeout)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
    headers = {"Accept-Encoding": "identity"}
    conn.request("GET", u.path, headers=headers)
    resp = conn.getresponse()
    resp.read()
    etag = resp.getheader("ETag")
    t0 = time.monotonic()
    os.rename(staged, target)
    while True:
        if etag:
            headers["If-None-Match"] = etag
        conn.request("GET", u.path, headers=headers)
        resp = conn.getresponse()
        body = resp.read()
        t = time.monotonic() - t0
        if resp.status == 200:
            if needle_b in body:
                print(f"{t:.4f}")
                return 0
            etag = resp.getheader("ETag")
        elif resp.status != 304:
            print(f"unexpected status {resp.status}", file=sys.stderr)
            return 2
        if t > limit:
            return 1


if __name__ == "__main__":
    sys.exit(main())
