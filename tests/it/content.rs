//! Bad input gets a clear error naming the file and line, and loses nothing.

use crate::support::{TestApp, repo};
use std::process::Command;

#[tokio::test]
async fn a_malformed_article_is_reported_and_the_rest_still_publishes() {
    let t = TestApp::demo().await;
    let path = t.write(
        "news/articles/broken/en.md",
        "+++\nid = \"tag:gdfao.example.org,2026-10-01:broken\"\ntitle = \"Broken\"\npublished_at = 2026-10-01T09:00:00\n+++\nBody\n",
    );
    t.write(
        "news/articles/fine/en.md",
        "+++\nid = \"tag:gdfao.example.org,2026-10-02:fine\"\ntitle = \"Fine\"\npublished_at = 2026-10-02T09:00:00+08:00\n+++\nBody\n",
    );
    let s = t.resync().await;
    assert_eq!(s.problems, 1);
    let problems = t.app.problems();
    assert_eq!(problems.len(), 1);
    let p = problems[0].to_string();
    assert_eq!(
        p,
        format!(
            "{}:4: published_at needs a date, a time and a UTC offset, like 2026-09-12T18:30:00+08:00",
            path.display()
        )
    );
    let en = t.doc("/feeds/news/en/atom.xml");
    assert!(
        en.contains("tag:gdfao.example.org,2026-10-02:fine/en"),
        "the good article published"
    );
    assert!(!en.contains(":broken/"));
}

#[tokio::test]
async fn a_file_that_breaks_later_keeps_its_last_good_version_published() {
    let t = TestApp::demo().await;
    let path = t.content.join("news/articles/queensland-partnership/de.md");
    std::fs::write(&path, "+++\ntitle = \"unterminated\n+++\n").unwrap();
    t.resync().await;
    let problems = t.app.problems();
    assert_eq!(problems.len(), 1, "{problems:#?}");
    assert_eq!(problems[0].path, path);
    assert_eq!(problems[0].line, 2, "the unterminated string on line 2");
    assert!(
        t.doc("/feeds/news/de/atom.xml")
            .contains("queensland-partnership/de"),
        "still published"
    );
}

#[test]
fn front_matter_errors_point_at_the_line() {
    let cases: &[(&str, usize, &str)] = &[
        (
            "+++\nid = \"tag:x.org,2026:a\"\ntitle = \"A\"\npublished_at = 2026-10-01T09:00:00Z\ntopics = [\"nope\"]\n+++\n",
            5,
            "unknown topic \"nope\"",
        ),
        (
            "+++\nid = \"tag:x.org,2026:a\"\ntitle = \"A\"\npublished_at = 2026-10-01T09:00:00Z\ncolour = 1\n+++\n",
            5,
            "unknown field `colour`",
        ),
        (
            "+++\nid = \"urn:x\"\ntitle = \"A\"\npublished_at = 2026-10-01T09:00:00Z\n+++\n",
            2,
            "is not a tag: URI",
        ),
        (
            "+++\nid = \"tag:x.org,2026:a\"\ntitle = \"A\"\npublished_at = 2026-10-01T09:00:00Z\nimage = \"media/nothere.png\"\nimage_alt = \"x\"\n+++\n",
            5,
            "nothere.png",
        ),
        (
            "+++\nid = \"tag:x.org,2026:a\"\ntitle = \"A\"\npublished_at = 2026-10-01T09:00:00Z\nimage = \"media/round-table.png\"\n+++\n",
            5,
            "image needs image_alt",
        ),
        ("---\ntitle: A\n---\n", 1, "YAML front matter"),
        ("no front matter", 1, "missing front matter"),
    ];
    let base = url::Url::parse("https://feeds.example.org").unwrap();
    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&repo().join("feeds/news"), &dir.path().join("news"));
    std::fs::remove_dir_all(dir.path().join("news/articles")).unwrap();
    for (i, (text, _, _)) in cases.iter().enumerate() {
        std::fs::create_dir_all(dir.path().join(format!("news/articles/case-{i}"))).unwrap();
        std::fs::write(
            dir.path().join(format!("news/articles/case-{i}/en.md")),
            text,
        )
        .unwrap();
    }
    let c = bridgecast::content::load(dir.path(), &base);
    assert_eq!(c.problems.len(), cases.len(), "{:#?}", c.problems);
    for (i, (_, line, needle)) in cases.iter().enumerate() {
        let p = c
            .problems
            .iter()
            .find(|p| p.path.to_string_lossy().contains(&format!("case-{i}/")))
            .unwrap();
        assert_eq!(p.line, *line, "case {i}: {p}");
        assert!(p.message.contains(needle), "case {i}: {p}");
    }
}

#[test]
fn validate_prints_file_line_problems_and_fails() {
    let bin = env!("CARGO_BIN_EXE_bridgecast");
    let ok = Command::new(bin)
        .arg("validate")
        .current_dir(repo())
        .output()
        .unwrap();
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stdout)
    );
    assert!(
        String::from_utf8_lossy(&ok.stdout)
            .contains("2 channels, 6 articles, 43 translations, 0 problems")
    );

    let dir = tempfile::tempdir().unwrap();
    crate::support::copy_dir(&repo().join("feeds"), &dir.path().join("feeds"));
    std::fs::write(
        dir.path().join("feeds/news/articles/round-table/xx.md"),
        "+++\n",
    )
    .unwrap();
    std::fs::write(
        dir.path()
            .join("feeds/news/articles/delegation-visit/de.md"),
        "+++\ntitle = 1\n+++\n",
    )
    .unwrap();
    let bad = Command::new(bin)
        .arg("validate")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&bad.stdout);
    assert_eq!(bad.status.code(), Some(1), "{out}");
    assert!(
        out.contains(
            "feeds/news/articles/round-table/xx.md:1: locale \"xx\" is not one of channel"
        ),
        "{out}"
    );
    assert!(
        out.contains("feeds/news/articles/delegation-visit/de.md:2: invalid type"),
        "{out}"
    );
}
