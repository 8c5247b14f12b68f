//! Markdown bodies to sanitised HTML with absolute links.

use pulldown_cmark::{Options, Parser, html};

/// Renders Markdown, then lets only safe HTML through and makes every relative URL
/// absolute against `base` (feed readers resolve relative URLs inconsistently).
pub fn to_safe_html(markdown: &str, base: &url::Url) -> String {
    let mut opts = Options::empty();
    opts.insert(Options::ENABLE_TABLES);
    opts.insert(Options::ENABLE_STRIKETHROUGH);
    opts.insert(Options::ENABLE_FOOTNOTES);
    let mut raw = String::with_capacity(markdown.len() * 3 / 2);
    html::push_html(&mut raw, Parser::new_ext(markdown, opts));
    sanitize(&raw, base)
}

thread_local! {
    /// One sanitiser per thread: building ammonia's default allow-lists (a dozen hash
    /// sets) cost as much as cleaning a 2 KB body. Only the base URL changes per call.
    static CLEANER: std::cell::RefCell<ammonia::Builder<'static>> = std::cell::RefCell::new({
        let mut b = ammonia::Builder::default();
        b.link_rel(Some("noopener noreferrer"));
        b
    });
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
