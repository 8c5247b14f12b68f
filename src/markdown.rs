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

/// Sanitises an HTML fragment: scripts, styles, event handlers and unknown schemes go.
pub fn sanitize(html: &str, base: &url::Url) -> String {
    ammonia::Builder::default()
        .url_relative(ammonia::UrlRelative::RewriteWithBase(base.clone()))
        .link_rel(Some("noopener noreferrer"))
        .clean(html)
        .to_string()
}

/// Removes the characters XML 1.0 forbids (C0 controls but tab and LF; U+FFFE,
/// U+FFFF) and turns CR and CRLF into LF, as an XML parser would. The feed writers copy
/// forbidden characters verbatim, which would make a document no reader can parse, so
/// every string passes through here before it reaches a writer.
pub fn xml_clean(s: &str) -> std::borrow::Cow<'_, str> {
    fn bad(c: char) -> bool {
        matches!(c, '\u{0}'..='\u{8}' | '\u{b}' | '\u{c}' | '\u{e}'..='\u{1f}' | '\u{fffe}' | '\u{ffff}')
    }
    // Fast path: every character to remove or change is an ASCII control byte (a
    // loop the compiler vectorises) or U+FFFE/U+FFFF (found with memchr-backed search).
    let clean = s.bytes().all(|x| x >= 0x20 || x == b'\t' || x == b'\n')
        && !s.contains(['\u{fffe}', '\u{ffff}']);
    if clean {
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
}
