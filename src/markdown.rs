//! Markdown bodies to sanitised HTML with absolute links.

use pulldown_cmark::{CowStr, Event, LinkType, Options, Parser, Tag, TagEnd, html};

/// Renders Markdown, then lets only safe HTML through and makes every relative URL
/// absolute against `base` (feed readers resolve relative URLs inconsistently).
///
/// Most bodies are plain Markdown: paragraphs, headings, lists, quotes, emphasis and
/// links, with no raw HTML. For those, [`plain`] writes the HTML ammonia would have
/// made, byte for byte, without building and walking a DOM. Everything else (raw HTML,
/// images, code blocks, tables, footnotes, unusual URLs) takes the full path: HTML from
/// pulldown-cmark, cleaned by ammonia. A property test holds the two paths equal.
pub fn to_safe_html(markdown: &str, base: &url::Url) -> String {
    plain(markdown, base).unwrap_or_else(|| sanitize(&unsafe_html(markdown), base))
}

fn options() -> Options {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_FOOTNOTES);
    opts
}

/// pulldown-cmark's HTML, before sanitising: raw HTML in the Markdown passes through.
fn unsafe_html(markdown: &str) -> String {
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, options()));
    raw
}

/// The sanitised HTML of Markdown made only of the events below, or `None` for
/// anything else. It follows pulldown-cmark's writer (`html::push_html`: the same tags
/// and the same newlines) and then does what ammonia does to that HTML: void elements
/// lose their ` /`, links get `rel="noopener noreferrer"` and a relative `href` is
/// joined to `base`, and text and attributes are escaped as html5ever serialises them
/// (`&amp; &lt; &gt; &nbsp;` in text, and `&quot;` too in attributes).
fn plain(markdown: &str, base: &url::Url) -> Option<String> {
    let mut out = String::with_capacity(markdown.len() + markdown.len() / 4);
    // pulldown-cmark writes a newline before a block that does not start a line.
    let mut at_line_start = true;
    // A link inside a link (pulldown-cmark makes one from an autolink in link text) is
    // split by the HTML parser; the full path handles that.
    let mut in_link = false;
    let block = |out: &mut String, at_line_start: bool, tag: &str| {
        if !at_line_start {
            out.push('\n');
        }
        out.push_str(tag);
    };
    for event in Parser::new_ext(markdown, options()) {
        match event {
            Event::Start(tag) => match tag {
                Tag::Paragraph => block(&mut out, at_line_start, "<p>"),
                Tag::Heading {
                    level,
                    id: None,
                    classes,
                    attrs,
                } if classes.is_empty() && attrs.is_empty() => {
                    block(&mut out, at_line_start, &format!("<{level}>"));
                }
                Tag::BlockQuote(None) => block(&mut out, at_line_start, "<blockquote>\n"),
                Tag::List(None) => block(&mut out, at_line_start, "<ul>\n"),
                Tag::List(Some(1)) => block(&mut out, at_line_start, "<ol>\n"),
                Tag::List(Some(start)) => {
                    block(
                        &mut out,
                        at_line_start,
                        &format!("<ol start=\"{start}\">\n"),
                    );
                }
                Tag::Item => block(&mut out, at_line_start, "<li>"),
                Tag::Emphasis => out.push_str("<em>"),
                Tag::Strong => out.push_str("<strong>"),
                Tag::Strikethrough => out.push_str("<del>"),
                Tag::Link {
                    link_type,
                    dest_url,
                    title,
                    ..
                } => {
                    if std::mem::replace(&mut in_link, true) {
                        return None;
                    }
                    let href = link_href(link_type, &dest_url, base)?;
                    out.push_str("<a href=\"");
                    escape(&mut out, &href, true)?;
                    if !title.is_empty() {
                        out.push_str("\" title=\"");
                        escape(&mut out, &title, true)?;
                    }
                    out.push_str("\" rel=\"");
                    out.push_str(LINK_REL);
                    out.push_str("\">");
                }
                _ => return None,
            },
            Event::End(tag) => match tag {
                TagEnd::Paragraph => out.push_str("</p>\n"),
                TagEnd::Heading(level) => {
                    out.push_str("</");
                    out.push_str(&level.to_string());
                    out.push_str(">\n");
                }
                TagEnd::BlockQuote(_) => out.push_str("</blockquote>\n"),
                TagEnd::List(true) => out.push_str("</ol>\n"),
                TagEnd::List(false) => out.push_str("</ul>\n"),
                TagEnd::Item => out.push_str("</li>\n"),
                TagEnd::Emphasis => out.push_str("</em>"),
                TagEnd::Strong => out.push_str("</strong>"),
                TagEnd::Strikethrough => out.push_str("</del>"),
                TagEnd::Link => {
                    in_link = false;
                    out.push_str("</a>");
                }
                _ => return None,
            },
            Event::Text(text) => {
                escape(&mut out, &text, false)?;
                // As pulldown-cmark tracks it (an empty text counts as no newline).
                at_line_start = text.ends_with('\n');
                continue;
            }
            Event::Code(text) => {
                out.push_str("<code>");
                escape(&mut out, &text, false)?;
                out.push_str("</code>");
            }
            Event::SoftBreak => out.push('\n'),
            Event::HardBreak => out.push_str("<br>\n"),
            Event::Rule => block(&mut out, at_line_start, "<hr>\n"),
            _ => return None,
        }
        at_line_start = out.ends_with('\n');
    }
    Some(out)
}

/// The `href` ammonia leaves on a link: pulldown-cmark's escaped URL as the HTML
/// parser reads it back, kept if absolute with an allowed scheme, joined to `base` if
/// relative. `None` where ammonia would drop it (the full path then handles the link).
fn link_href(kind: LinkType, dest: &CowStr<'_>, base: &url::Url) -> Option<String> {
    let mut escaped = String::with_capacity(dest.len() + 7);
    if kind == LinkType::Email {
        escaped.push_str("mailto:");
    }
    pulldown_cmark_escape::escape_href(&mut escaped, dest).ok()?;
    // escape_href writes two character references; the HTML parser decodes them.
    let value = escaped.replace("&amp;", "&").replace("&#x27;", "'");
    match url::Url::parse(&value) {
        Ok(u) if SCHEMES.contains(u.scheme()) => Some(value),
        Err(url::ParseError::RelativeUrlWithoutBase) => base.join(&value).ok().map(String::from),
        _ => None,
    }
}

/// Text (or, with `attribute`, an attribute value) as html5ever serialises it:
/// `&amp; &lt; &gt; &nbsp;`, and `&quot;` in attributes. `None` for NUL and CR, which
/// its parser drops or rewrites (pulldown-cmark passes them through in some places).
fn escape(out: &mut String, text: &str, attribute: bool) -> Option<()> {
    // Runs of ordinary text are copied whole; every byte looked at below is ASCII or
    // the lead byte of U+00A0 (C2 A0), so each slice ends on a character boundary.
    let b = text.as_bytes();
    let mut from = 0;
    let mut i = 0;
    while i < b.len() {
        let (with, len) = match b[i] {
            b'&' => ("&amp;", 1),
            b'<' => ("&lt;", 1),
            b'>' => ("&gt;", 1),
            b'"' if attribute => ("&quot;", 1),
            0xC2 if b.get(i + 1) == Some(&0xA0) => ("&nbsp;", 2),
            b'\0' | b'\r' => return None,
            _ => {
                i += 1;
                continue;
            }
        };
        out.push_str(&text[from..i]);
        out.push_str(with);
        i += len;
        from = i;
    }
    out.push_str(&text[from..]);
    Some(())
}

/// The `rel` every link gets.
const LINK_REL: &str = "noopener noreferrer";

/// The sanitiser's settings, but for the base URL (set per call).
fn cleaner() -> ammonia::Builder<'static> {
    let mut b = ammonia::Builder::default();
    b.link_rel(Some(LINK_REL));
    b
}

/// The URL schemes the sanitiser lets through, for [`plain`]'s links.
static SCHEMES: std::sync::LazyLock<std::collections::HashSet<&'static str>> =
    std::sync::LazyLock::new(|| cleaner().clone_url_schemes());

thread_local! {
    /// One sanitiser per thread: building ammonia's default allow-lists (a dozen hash
    /// sets) cost as much as cleaning a 2 KB body. Only the base URL changes per call.
    static CLEANER: std::cell::RefCell<ammonia::Builder<'static>> =
        std::cell::RefCell::new(cleaner());
}

/// Sanitises an HTML fragment: scripts, styles, event handlers and unknown schemes go.
pub fn sanitize(html: &str, base: &url::Url) -> String {
    CLEANER.with_borrow_mut(|b| {
        b.url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
            .clean(html)
            .to_string()
    })
}

/// Removes the characters XML 1.0 forbids (C0 controls but tab and LF; U+FFFE,
/// U+FFFF) and turns CR and CRLF into LF, as an XML parser would. The feed writers copy
/// forbidden characters verbatim, which would make a document no reader can parse, so
/// every string passes through here before it reaches a writer.
pub fn xml_clean(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }
    if is_xml_clean(s) {
        return s.into();
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\r' {
            chars.next_if_eq(&'\n');
            out.push('\n');
        } else if !bad(c) {
            out.push(c);
        }
    }
    out.into()
}

/// [`xml_clean`] for a string already owned: a clean one is returned as it is, not
/// copied.
pub fn xml_clean_owned(s: String) -> String {
    if is_xml_clean(&s) {
        s
    } else {
        xml_clean(&s).into_owned()
    }
}

/// Whether `s` holds nothing [`xml_clean`] would remove or change. Every such
/// character is an ASCII control byte (looked for in blocks of 32 bytes with no early
/// exit, a loop the compiler vectorises) or U+FFFE/U+FFFF (EF BF BE/BF in UTF-8,
/// found from memchr's hits on EF).
fn is_xml_clean(s: &str) -> bool {
    let b = s.as_bytes();
    let control = b.chunks(32).any(|block| {
        block.iter().fold(false, |any, &x| {
            any | ((x < 0x20) & (x != b'\t') & (x != b'\n'))
        })
    });
    !control
        && !memchr::memchr_iter(0xEF, b)
            .any(|i| b.get(i + 1) == Some(&0xBF) && matches!(b.get(i + 2), Some(0xBE | 0xBF)))
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn escape_html(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scripts_go_and_relative_links_become_absolute() {
        let base = url::Url::parse("https://news.example.org/en/news/a").unwrap();
        let html = to_safe_html("[x](../b) <script>alert(1)</script> ![i](/m.png)", &base);
        assert!(!html.contains("<script"), "{html}");
        assert!(
            html.contains("href=\"https://news.example.org/en/b\""),
            "{html}"
        );
        assert!(
            html.contains("src=\"https://news.example.org/m.png\""),
            "{html}"
        );
    }

    /// The full path: pulldown-cmark's HTML cleaned by ammonia.
    fn through_ammonia(md: &str, base: &url::Url) -> String {
        sanitize(&unsafe_html(md), base)
    }

    fn base() -> url::Url {
        url::Url::parse("https://news.example.org/en/news/a-slug").unwrap()
    }

    #[test]
    fn plain_markdown_takes_the_fast_path_and_the_rest_does_not() {
        let b = base();
        let plain_md = "# T\n\nA *b* **c** ~~d~~ `e` [f](../g \"h\") <https://x.org/?a=1&b=2>\n\n\
                        - one\n- two\n\n3. three\n\n> quote  \nnext\n\n---\n";
        let html = plain(plain_md, &b).expect("plain Markdown");
        assert_eq!(html, through_ammonia(plain_md, &b));
        assert!(
            html.contains(
                "<a href=\"https://news.example.org/en/g\" title=\"h\" rel=\"noopener noreferrer\">"
            ),
            "{html}"
        );
        // Attribute values escape < and > too.
        let titled = "[a](https://ex.org/a?b=1&c=2 \"<>\")";
        assert_eq!(
            plain(titled, &b).as_deref(),
            Some(through_ammonia(titled, &b).as_str())
        );
        assert!(
            html.contains("<br>\n") && html.contains("<hr>\n") && html.contains("<ol start=\"3\">"),
            "{html}"
        );
        for other in [
            "<b>raw</b>",
            "![i](x.png)",
            "```rust\nx\n```",
            "|a|\n|-|\n|b|",
            "x[^1]\n\n[^1]: y",
            "[x](javascript:alert(1))",
            // An autolink in link text: the HTML parser splits the nested links.
            "[<https://x.org/p>[[]]>](https://ex.org/a)",
        ] {
            assert_eq!(plain(other, &b), None, "{other}");
            assert_eq!(
                to_safe_html(other, &b),
                through_ammonia(other, &b),
                "{other}"
            );
        }
    }

    #[test]
    fn every_demo_body_is_the_same_on_both_paths() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("feeds");
        let mut files = vec![];
        let mut dirs = vec![root];
        while let Some(d) = dirs.pop() {
            for e in std::fs::read_dir(&d).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    dirs.push(p);
                } else if p.extension().is_some_and(|x| x == "md") {
                    files.push(p);
                }
            }
        }
        let (mut fast, b) = (0, base());
        for f in &files {
            let text = std::fs::read_to_string(f).unwrap();
            fast += usize::from(plain(&text, &b).is_some());
            assert_eq!(
                to_safe_html(&text, &b),
                through_ammonia(&text, &b),
                "{}",
                f.display()
            );
        }
        assert!(files.len() > 40, "{} demo files", files.len());
        assert!(
            fast * 2 > files.len(),
            "only {fast} of {} on the fast path",
            files.len()
        );
    }

    /// Pieces that, put together at random, make Markdown with every construct the fast
    /// path writes, the ones it leaves to ammonia, and text and URLs that need escaping.
    /// With `mixed` false, only what the fast path may write (URLs aside).
    fn piece(mixed: bool) -> impl proptest::strategy::Strategy<Value = String> {
        use proptest::prelude::*;
        let fallback = |v: Vec<&'static str>| {
            v.into_iter()
                .filter(|p| {
                    mixed
                        || !["\r", "\0", "```", "<", "|", "[^", "    ", "\t", "!["]
                            .iter()
                            .any(|x| p.contains(x))
                })
                .collect::<Vec<_>>()
        };
        let text = prop::sample::select(fallback(vec![
            "a", "Zz", " ", "  ", "&", "&amp;", "&nbsp;", "&#0;", "&copy;", "<", ">", "\"", "'",
            "\u{a0}", "中文", "عربي", "\t", "\n", "\n\n", "\r\n", "\r", "\0", "\u{1}", "\u{c}",
            "*", "_", "**", "~~", "`", "\\", "!", "[", "]", "(", ")", "#", "|", "%", "é", "🇩🇪",
            "\u{202e}", "]]>",
        ]))
        .prop_map(str::to_owned);
        let block = prop::sample::select(fallback(vec![
            "\n\n",
            "\n# ",
            "\n## ",
            "\n###### ",
            "\n- ",
            "\n* ",
            "\n1. ",
            "\n3) ",
            "\n> ",
            "\n---\n",
            "\n    code\n",
            "\n```\nfence\n```\n",
            "\n```rs\nx\n```\n",
            "\n<div>d</div>\n",
            "<b>",
            "</i>",
            "<!-- c -->",
            "![alt *x*](img.png \"t\")",
            "\n|a|b|\n|-|:-:|\n|c|d|\n",
            "[^n]",
            "\n[^n]: note\n",
            "  \n",
            "\\\n",
            "\n[ref]: /r \"rt\"\n",
            "[ref]",
            "[x][ref]",
            "\n\t- x\n",
            "\n  1. y\n",
        ]))
        .prop_map(str::to_owned);
        let url = prop::sample::select(vec![
            "https://ex.org/a?b=1&c=2",
            "../rel/path",
            "/abs",
            "#frag",
            "",
            "javascript:alert(1)",
            "mailto:a@b.c",
            "HTTP://EX.ORG",
            "<http://ex.org/a b>",
            "http://ex.org/ü",
            "rel'quote",
            "a%22b",
            "//proto.rel/x",
            "ftp://x",
            "data:text/html,x",
            "tel:+1",
            "http://[::1]/",
            "%zz",
            "?q=1",
            "x:y",
            "a\\(b",
            "http://exa mple.org",
            "\\\\host",
        ]);
        let title = prop::sample::select(vec![
            "",
            " \"t\"",
            " \"a&b\"",
            " 'x\"y'",
            " \"<>\"",
            " \"\u{a0}\"",
            " (p)",
        ]);
        let link = (text.clone(), url, title).prop_map(|(t, u, ti)| format!("[{t}]({u}{ti})"));
        let auto = prop::sample::select(vec![
            "<https://x.org/p?q=a&r=b>",
            "<a@b.example>",
            "<mailto:x@y.z>",
            "<foo:bar>",
        ])
        .prop_map(str::to_owned);
        prop_oneof![4 => text, 2 => block, 2 => link, 1 => auto]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(3000))]
        #[test]
        fn the_fast_path_writes_what_ammonia_writes(
            pieces in proptest::collection::vec(piece(true), 0..40),
            plain_pieces in proptest::collection::vec(piece(false), 0..40),
        ) {
            let b = base();
            for md in [pieces.concat(), plain_pieces.concat()] {
                proptest::prop_assert_eq!(to_safe_html(&md, &b), through_ammonia(&md, &b), "{:?}", md);
            }
        }
    }

    #[test]
    fn the_property_test_reaches_the_fast_path_often() {
        use proptest::strategy::{Strategy, ValueTree};
        let mut runner = proptest::test_runner::TestRunner::deterministic();
        let docs = proptest::collection::vec(piece(false), 0..40);
        let b = base();
        let fast = (0..1000)
            .filter(|_| {
                let md = docs.new_tree(&mut runner).unwrap().current().concat();
                plain(&md, &b).is_some()
            })
            .count();
        assert!(fast > 300, "{fast} of 1000 on the fast path");
    }

    #[test]
    fn xml_illegal_characters_are_removed() {
        assert_eq!(
            xml_clean("a\u{0}b\u{1b}c\u{fffe}\td\r\ne\rf"),
            "abc\td\ne\nf"
        );
        assert!(matches!(xml_clean("plain"), std::borrow::Cow::Borrowed(_)));
    }

    #[test]
    fn the_fast_check_finds_every_character_to_clean_wherever_it_sits() {
        let reference = |s: &str| {
            !s.chars().any(
                |c| matches!(c, '\u{0}'..='\u{8}' | '\u{b}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}'),
            )
        };
        // Neighbours that share bytes with U+FFFE/U+FFFF: fullwidth comma (EF BC 8C),
        // U+FFBE (EF BE BE), U+FFFD (EF BF BD).
        let fill = ["a", "中，", "\u{ffbe}", "\u{fffd}", "\t", "\n", "ع"];
        let odd = ["\u{0}", "\r", "\u{1f}", "\u{b}", "\u{fffe}", "\u{ffff}"];
        for len in [0, 1, 31, 32, 33, 64, 100] {
            for f in fill {
                let base: String = f.repeat(len);
                assert!(is_xml_clean(&base) && reference(&base), "{base:?}");
                let chars: Vec<char> = base.chars().collect();
                for at in [0, chars.len() / 2, chars.len()] {
                    for o in odd {
                        let mut s: String = chars[..at].iter().collect();
                        s.push_str(o);
                        s.extend(&chars[at..]);
                        assert!(!is_xml_clean(&s), "{s:?}");
                        assert!(!reference(&s), "{s:?}");
                        assert_eq!(xml_clean_owned(s.clone()), xml_clean(&s));
                    }
                }
            }
        }
    }
}
