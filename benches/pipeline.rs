//! Where the time of a full render goes, phase by phase, on the demo content scaled
//! up: `cargo bench --bench pipeline`. Prints figures; asserts nothing.

use bridgecast::document;
use std::time::Instant;

fn time<T>(label: &str, bytes: usize, f: impl FnOnce() -> T) -> T {
    let start = Instant::now();
    let out = f();
    let s = start.elapsed().as_secs_f64();
    if bytes > 0 {
        println!(
            "{label:<40} {:>9.3} ms  {:>8.1} MB/s",
            s * 1e3,
            bytes as f64 / s / 1e6
        );
    } else {
        println!("{label:<40} {:>9.3} ms", s * 1e3);
    }
    out
}

fn main() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    let base = url::Url::parse("https://feeds.example.org").unwrap();
    let content = time("load demo content (43 files)", 0, || {
        bridgecast::content::load(&root.join("feeds"), &base)
    });
    // What a render job does first: group 10,000 translations (the demo's, copied
    // under new ids) by article and select one channel in one locale.
    let many: Vec<bridgecast::content::Translation> = (0..10_000 / content.translations.len() + 1)
        .flat_map(|n| {
            content.translations.iter().map(move |t| {
                let mut t = t.clone();
                t.article_id = format!("{}-{n}", t.article_id);
                t.slug = format!("{}-{n}", t.slug);
                t
            })
        })
        .take(10_000)
        .collect();
    // After every demo article, the scheduled one included.
    let now = chrono::DateTime::parse_from_rfc3339("2030-01-01T00:00:00Z")
        .unwrap()
        .to_utc();
    let news = content.channels.iter().find(|c| c.id == "news").unwrap();
    for _ in 0..3 {
        let index = time("feed::Index::new, 10,000 translations", 0, || {
            bridgecast::feed::Index::new(&many, now)
        });
        let sel = time("Index::select, news in en", 0, || index.select(news, "en"));
        std::hint::black_box(sel.entries.len());
    }
    let md: Vec<String> = content
        .translations
        .iter()
        .map(|t| t.body_html.clone())
        .collect();
    let md_bytes: usize = md.iter().map(String::len).sum();
    let page = url::Url::parse("https://feeds.example.org/en/news/x").unwrap();
    time("markdown + ammonia, 43 bodies x 20", md_bytes * 20, || {
        for _ in 0..20 {
            for m in &md {
                std::hint::black_box(bridgecast::markdown::to_safe_html(m, &page));
            }
        }
    });
    // Archive pages of an exported site if BENCH_EXPORT names one (bench/README.md says
    // how to keep one), else the demo feed repeated (far more compressible than real pages). Each
    // document is compressed on its own, as a render does.
    let docs: Vec<Vec<u8>> = match std::env::var("BENCH_EXPORT") {
        Ok(dir) => {
            let mut v = vec![];
            for l in ["en", "ja", "ar", "de", "ne", "zh-Hans"] {
                for n in 1..=4 {
                    for f in ["atom.xml", "rss.xml", "feed.json"] {
                        if let Ok(d) =
                            std::fs::read(format!("{dir}/feeds/news/{l}/archive/{n}/{f}"))
                        {
                            v.push(d);
                        }
                    }
                }
            }
            v
        }
        Err(_) => {
            let sample =
                std::fs::read(root.join("tests/it/snapshots/it__snapshots__news_en_atom.snap"))
                    .unwrap();
            let page: Vec<u8> = sample.iter().copied().cycle().take(180 << 10).collect();
            vec![page; 24]
        }
    };
    let total: usize = docs.iter().map(Vec::len).sum();
    println!("sample: {} documents, {total} bytes", docs.len());
    let each = |label: &str, f: &dyn Fn(&[u8]) -> usize| {
        let n: usize = time(label, total, || docs.iter().map(|d| f(d)).sum());
        println!("{:>52} ratio {:.3}", "", n as f64 / total as f64);
    };
    for level in [1, 6] {
        each(&format!("gzip level {level}"), &|d| {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::new(level));
            e.write_all(d).unwrap();
            e.finish().unwrap().len()
        });
    }
    // Through `BrotliCompress`'s 4 KiB reader: qualities 0 and 1 then compress each 4 KiB
    // on its own.
    for q in [1, 3, 4] {
        each(&format!("brotli quality {q}, 4 KiB reads"), &|d| {
            let mut out = Vec::new();
            let p = brotli::enc::BrotliEncoderParams {
                quality: q,
                lgwin: 22,
                ..Default::default()
            };
            brotli::BrotliCompress(&mut &d[..], &mut out, &p).unwrap();
            out.len()
        });
    }
    for q in [0, 1, 2, 3, 4] {
        each(&format!("brotli quality {q}, whole input"), &|d| {
            document::brotli_quality(d, q).len()
        });
    }
    let big: Vec<u8> = docs.concat();
    time(
        "Document::new (4 MiB: hash, gzip, brotli)",
        big.len(),
        || {
            std::hint::black_box(document::Document::new(
                document::Purpose::Serve,
                "/x".into(),
                "c",
                "en",
                "t",
                big.clone(),
                chrono::DateTime::UNIX_EPOCH,
                chrono::DateTime::UNIX_EPOCH,
            ))
        },
    );
}
