#!/usr/bin/env python3
"""Publish-to-served latency, one sample.

Usage: latency.py URL STAGED_DIR TARGET_DIR NEEDLE TIMEOUT_SECS [OTHER_URL...]

Renames STAGED_DIR (a complete article folder written beforehand) to TARGET_DIR (inside
the served content folder), then asks URL over one keep-alive connection, revalidating
with the last ETag so that an unchanged feed costs a 304, until the body contains
NEEDLE; then does the same for each OTHER_URL (the feeds that show the article
through a fallback). Prints two figures: seconds from the rename until URL showed it,
and until every URL did. Exits 1 on timeout.
Polling this way adds well under a millisecond to each sample, where a curl process
per poll would add several.
"""

import http.client
import os
import sys
import time
import urllib.parse


class Feed:
    """One feed polled over its own keep-alive connection, revalidating."""

    def __init__(self, url: str):
        u = urllib.parse.urlsplit(url)
        self.path = u.path
        self.conn = http.client.HTTPConnection(u.hostname, u.port, timeout=5)
        self.etag = None

    def get(self) -> bytes | None:
        """The body when it changed (200), None when it did not (304)."""
        headers = {"Accept-Encoding": "identity"}
        if self.etag:
            headers["If-None-Match"] = self.etag
        self.conn.request("GET", self.path, headers=headers)
        resp = self.conn.getresponse()
        body = resp.read()
        if resp.status == 304:
            return None
        if resp.status != 200:
            raise RuntimeError(f"{self.path}: unexpected status {resp.status}")
        self.etag = resp.getheader("ETag")
        return body


def main() -> int:
    url, staged, target, needle, timeout = sys.argv[1:6]
    needle_b = needle.encode()
    limit = float(timeout)
    feeds = [Feed(u) for u in [url] + sys.argv[6:]]
    for f in feeds:
        f.get()
    t0 = time.monotonic()
    os.rename(staged, target)
    first = None
    waiting = list(feeds)
    while waiting:
        f = waiting[0]
        body = f.get()
        t = time.monotonic() - t0
        if body is not None and needle_b in body:
            waiting.pop(0)
            if first is None:
                first = t
        if t > limit:
            return 1
    print(f"{first:.4f} {time.monotonic() - t0:.4f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
