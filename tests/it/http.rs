//! The HTTP surface, in process over a real socket: conditional GET, encodings,
//! HEAD, pages, OPML, health and metrics.

use crate::support::{TestApp, client, serve};
use std::io::Read;

#[tokio::test]
async fn feeds_answer_conditional_gets_with_304_and_offer_gzip_and_brotli() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let url = format!("{base}/feeds/news/en/atom.xml");
    let c = client();
    let r = c.get(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/atom+xml; charset=utf-8"
    );
    assert_eq!(r.headers()["vary"], "Accept-Encoding");
    assert!(
        r.headers()["cache-control"]
            .to_str()
            .unwrap()
            .starts_with("public, max-age=")
    );
    let etag = r.headers()["etag"].to_str().unwrap().to_owned();
    let last_modified = r.headers()["last-modified"].to_str().unwrap().to_owned();
    assert_eq!(last_modified, "Mon, 14 Sep 2026 03:00:00 GMT");
    let plain = r.bytes().await.unwrap();
    assert!(
        etag.starts_with('"') && etag.ends_with('"'),
        "strong ETag: {etag}"
    );

    let r = c
        .get(&url)
        .header("If-None-Match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    assert!(r.bytes().await.unwrap().is_empty());
    let r = c
        .get(&url)
        .header("If-None-Match", "\"other\", ".to_owned() + &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304, "a list with our tag matches");
    let r = c
        .get(&url)
        .header("If-None-Match", "\"stale\"")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let r = c
        .get(&url)
        .header("If-Modified-Since", &last_modified)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = c
        .get(&url)
        .header("If-Modified-Since", "Sun, 13 Sep 2026 00:00:00 GMT")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    let r = c
        .get(&url)
        .header("Accept-Encoding", "gzip")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "gzip");
    let gz_etag = r.headers()["etag"].to_str().unwrap().to_owned();
    assert_ne!(
        gz_etag, etag,
        "each representation has its own strong validator"
    );
    let mut out = vec![];
    flate2::read::GzDecoder::new(&r.bytes().await.unwrap()[..])
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain);
    let r = c
        .get(&url)
        .header("Accept-Encoding", "gzip, br")
        .header("If-None-Match", &gz_etag)
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        304,
        "the gzip validator revalidates the brotli variant too"
    );

    let r = c
        .get(&url)
        .header("Accept-Encoding", "br")
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-encoding"], "br");
    let mut out = vec![];
    brotli::Decompressor::new(&r.bytes().await.unwrap()[..], 4096)
        .read_to_end(&mut out)
        .unwrap();
    assert_eq!(out, plain);

    let r = c.head(&url).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(
        r.headers()["content-length"].to_str().unwrap(),
        plain.len().to_string()
    );
    assert!(r.bytes().await.unwrap().is_empty());

    let r = c.post(&url).send().await.unwrap();
    assert_eq!(r.status(), 405);
    let r = c
        .get(format!("{base}/feeds/news/xx/atom.xml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn landing_pages_are_localised_with_direction_and_autodiscovery() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let c = client();
    let ar = c
        .get(format!("{base}/ar/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        ar.contains("<html lang=\"ar\" dir=\"rtl\">"),
        "{}",
        &ar[..200]
    );
    assert!(ar.contains("<link rel=\"alternate\" type=\"application/atom+xml\" hreflang=\"ar\""));
    assert!(ar.contains("hreflang=\"x-default\""));
    assert!(ar.contains("href=\"/feeds/news/ar/rss.xml\""));
    let en = c
        .get(format!("{base}/en/"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(en.contains("<html lang=\"en\" dir=\"ltr\">"));
    assert!(
        en.contains("5 articles"),
        "plural count in the landing page"
    );
    let r = c
        .get(format!("{base}/"))
        .header("Accept-Language", "ja-JP,ja;q=0.9")
        .send()
        .await
        .unwrap();
    // reqwest follows the redirect.
    assert_eq!(r.url().path(), "/ja/");
    let r = c.get(format!("{base}/zh-Hant/")).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn article_pages_link_their_translations_and_hide_the_unpublished() {
    let t = TestApp::demo().await;
    let base = serve(&t.app).await;
    let c = client();
    let r = c
        .get(format!("{base}/ar/news/round-table"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let page = r.text().await.unwrap();
    assert!(page.contains("dir=\"rtl\""));
    assert!(page.contains("hreflang=\"ja\""));
    assert!(
        page.contains("<img src=\"https://feeds.example.org/media/news/round-table.png\" alt=\"")
    );
    let r = c
        .get(format!("{base}/en/news/youth-culture-bridges"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        r.status(),
        404,
        "scheduled articles are not visible before their time"
    );
    let r = c
        .get(format!("{base}/media/news/round-table.png"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["content-type"], "image/png");
    assert_eq!(&r.bytes().await.unwrap()[..8], b"\x89PNG\r\n\x1a\n");
    let r = c
        .get(format!("{base}/media/news/..%2Ffeed.toml"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
}

#[tokio::test]
async fn opml_health_readiness_and_metrics() {
    let t = TestApp::demo().await;
    t.app.set_ready();
    let base = serve(&t.app).await;
    let c = client();
    let opml = c
        .get(format!("{base}/feeds.opml"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let doc = roxmltree::Document::parse(&opml).unwrap();
    let feeds: Vec<_> = doc
        .descendants()
        .filter(|n| n.attribute("xmlUrl").is_some())
        .collect();
    assert_eq!(feeds.len(), 18, "2 channels x 9 locales");
    assert_eq!(
        c.get(format!("{base}/healthz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    assert_eq!(
        c.get(format!("{base}/readyz"))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );
    let m = c
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(m.contains("bridgecast_http_requests_total{class=\"2xx\"}"));
    assert!(m.contains("bridgecast_jobs_dead 0"));
    assert!(m.contains("bridgecast_feed_renders_total 18"), "{m}");
}

/// Sends `requests` (method, path, extra header lines) on one connection in a single
/// write (pipelined) and splits what comes back into (head, body) pairs; a response to
/// HEAD has no body.
async fn pipelined(base: &str, requests: &[(&str, &str, &str)]) -> Vec<(String, Vec<u8>)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let addr = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut out = String::new();
    for (i, (method, path, extra)) in requests.iter().enumerate() {
        let close = if i + 1 == requests.len() {
            "Connection: close\r\n"
        } else {
            ""
        };
        out.push_str(&format!(
            "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{extra}{close}\r\n"
        ));
    }
    tcp.write_all(out.as_bytes()).await.unwrap();
    let mut raw = vec![];
    tcp.read_to_end(&mut raw).await.unwrap();
    let mut rest = &raw[..];
    let mut responses = vec![];
    for (method, _, _) in requests {
        let end = rest
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("a complete head")
            + 4;
        let head = String::from_utf8(rest[..end].to_vec()).unwrap();
        let len: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length: "))
            .expect("content-length")
            .parse()
            .unwrap();
        let body_len = if *method == "HEAD" { 0 } else { len };
        responses.push((head, rest[end..end + body_len].to_vec()));
        rest = &rest[end + body_len..];
    }
    assert!(rest.is_empty(), "nothing after the last response");
    responses
}

/// A large identity body leaves through `sendfile` from a memory file; what arrives is
/// the cached document byte for byte: pipelined on one connection, next to HEAD and
/// compressed answers, and again after the document is replaced.
#[tokio::test]
async fn large_bodies_are_sent_without_a_copy_and_arrive_unchanged() {
    let t = TestApp::demo().await;
    let article = |words: &str| {
        format!(
            "+++\nid = \"tag:gdfao.example.org,2026-09-10:harbour-forum\"\n\
             title = \"Harbour forum\"\nsummary = \"Ports of the partner regions meet.\"\n\
             topics = [\"education\"]\npublished_at = 2026-09-10T09:00:00+08:00\n+++\n{}\n",
            words.repeat(1500)
        )
    };
    t.write(
        "news/articles/harbour-forum/en.md",
        &article("Ports, universities and hospitals of the partner regions. "),
    );
    t.resync().await;
    let path = "/feeds/news/en/atom.xml";
    let doc = t.app.cache.get(path).unwrap();
    assert!(
        doc.body.len() >= bridgecast::zero_copy::MIN_LEN,
        "{} bytes: {:?}",
        doc.body.len(),
        t.app.problems()
    );
    let base = serve(&t.app).await;

    let before = bridgecast::zero_copy::stats().sent_bytes;
    let answers = pipelined(
        &base,
        &[
            ("GET", path, ""),
            ("HEAD", path, ""),
            ("GET", "/healthz", ""),
            ("GET", path, ""),
            ("GET", path, "Accept-Encoding: gzip\r\n"),
        ],
    )
    .await;
    for i in [0, 3] {
        assert!(answers[i].0.starts_with("HTTP/1.1 200"), "{}", answers[i].0);
        assert!(
            answers[i].1 == doc.body[..],
            "response {i} is the cached body"
        );
    }
    assert!(
        answers[1]
            .0
            .contains(&format!("content-length: {}", doc.body.len()))
    );
    assert_eq!(answers[2].1, b"ok\n");
    let sent = bridgecast::zero_copy::stats().sent_bytes - before;
    if cfg!(target_os = "linux") {
        assert!(
            sent >= 2 * doc.body.len() as u64,
            "both bodies went through sendfile: {sent} bytes"
        );
    }
    assert!(answers[4].0.contains("content-encoding: gzip"));
    assert!(
        answers[4].1 == doc.gzip,
        "the compressed variant is unaffected"
    );

    // A new render replaces the document; the old bytes are never sent for it.
    t.write(
        "news/articles/harbour-forum/en.md",
        &article("Delegations from Queensland and Hyogo visit the ports. "),
    );
    t.resync().await;
    let new = t.app.cache.get(path).unwrap();
    assert_ne!(new.etag, doc.etag);
    drop(doc);
    let answers = pipelined(
        &base,
        &[
            ("GET", path, ""),
            ("GET", path, ""),
            ("GET", "/metrics", ""),
        ],
    )
    .await;
    for (head, body) in &answers[..2] {
        assert!(head.contains(&format!("etag: {}", new.etag)), "{head}");
        assert!(body[..] == new.body[..]);
    }
    let metrics = String::from_utf8_lossy(&answers[2].1);
    assert!(metrics.contains("# TYPE bridgecast_http_sendfile_bytes_total counter"));
}
