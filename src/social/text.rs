//! How each platform counts the length of a post, and fitting a post into that length.
//!
//! Counting, per platform (what the platform's own documentation or server code says):
//!
//! - **X**: twitter-text's v3 weighted length. Each code point of the NFC-normalised text
//!   weighs 1 in U+0000–U+10FF, U+2000–U+200D, U+2010–U+201F and U+2032–U+2037, and 2 anywhere
//!   else; an emoji sequence (ZWJ sequences, skin tones, flags, keycaps) weighs 2 as a whole;
//!   every URL counts as `transformedURLLength` = 23 (the t.co link). The limit is 280. X also
//!   turns bare domains such as `example.com` into links; this module charges such a word at
//!   least 23 too, so it never counts less than X does.
//! - **Mastodon**: 500 by default (instances may raise it). The server's
//!   `StatusLengthValidator` replaces every http(s) URL by 23 `x`s and counts extended grapheme
//!   clusters. It also counts only the username part of `@user@domain` mentions; this module
//!   counts the whole mention, which can only over-count.
//! - **Bluesky**: `app.bsky.feed.post` text has `maxGraphemes: 300` and `maxLength: 3000`
//!   (UTF-8 bytes); links count as written.
//! - **Telegram**: a message text is 1–4096 characters after entity parsing and a caption
//!   0–1024; Telegram measures text in UTF-16 code units.
//! - **Weibo**: 140 "汉字" (`statuses/share`). Weibo's web composer counts each UTF-16 code
//!   unit above U+00FF as one and each character up to U+00FF as half, rounding the total up,
//!   and counts a link (shortened to t.cn) as a fixed length plus whatever exceeds 140
//!   half-width characters. The open-platform documentation does not give the link's length,
//!   so [`Budget::WEIBO`] charges 20 (the web composer charges 10). Note that `statuses/share`
//!   refuses text holding a `#topic#` and requires a link on the app's own domain.
//! - **LinkedIn** 3000 characters, **Facebook** 63 206 characters, **WeChat** article digest
//!   (`draft/add` says at most 128; a caller builds `Budget { counter: Counter::Chars, max:
//!   120, .. }` to keep to the older 120): Unicode scalar values.
//!
//! Every rule errs towards counting too much rather than too little: a link whose written
//! form holds non-ASCII characters is also charged those characters as written, because a
//! platform may end the link before them and count them as text.

use std::ops::Range;

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use unicode_segmentation::UnicodeSegmentation;

/// How a platform counts the length of a text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Counter {
    /// Extended grapheme clusters (Bluesky, Mastodon).
    Graphemes,
    /// X's weighted length (v3 ranges, NFC, emoji = 2, URL = `url` weight... see `Budget::url_len`).
    XWeighted,
    /// Unicode scalar values (LinkedIn, Facebook, WeChat; also a safe stand-in for
    /// Mastodon-compatible servers that count code points).
    Chars,
    /// UTF-16 code units (Telegram).
    Utf16,
    /// Weibo: CJK and other wide characters 1, ASCII (and the rest of Latin-1) half.
    Weibo,
}

/// A platform's limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    pub counter: Counter,
    /// Maximum length in the counter's units.
    pub max: usize,
    /// Also a maximum in UTF-8 bytes (Bluesky: 3000).
    pub max_bytes: Option<usize>,
    /// A URL counts as this many units whatever its length (X 23, Mastodon 23); None: counted as written.
    pub url_len: Option<usize>,
}

impl Budget {
    /// 300 graphemes and 3000 UTF-8 bytes; links count as written.
    pub const BLUESKY: Budget = Budget {
        counter: Counter::Graphemes,
        max: 300,
        max_bytes: Some(3000),
        url_len: None,
    };
    /// 500 graphemes, every URL 23 (instances may raise the maximum: callers build their own).
    pub const MASTODON: Budget = Budget {
        counter: Counter::Graphemes,
        max: 500,
        max_bytes: None,
        url_len: Some(23),
    };
    /// 280 weighted characters, every URL 23.
    pub const X: Budget = Budget {
        counter: Counter::XWeighted,
        max: 280,
        max_bytes: None,
        url_len: Some(23),
    };
    /// A message text: 4096 UTF-16 code units.
    pub const TELEGRAM_MESSAGE: Budget = Budget {
        counter: Counter::Utf16,
        max: 4096,
        max_bytes: None,
        url_len: None,
    };
    /// A media caption: 1024 UTF-16 code units.
    pub const TELEGRAM_CAPTION: Budget = Budget {
        counter: Counter::Utf16,
        max: 1024,
        max_bytes: None,
        url_len: None,
    };
    /// 140 Weibo characters; a link counts 20 (plus its length beyond 140 half-width characters).
    pub const WEIBO: Budget = Budget {
        counter: Counter::Weibo,
        max: 140,
        max_bytes: None,
        url_len: Some(20),
    };
    /// 3000 characters.
    pub const LINKEDIN: Budget = Budget {
        counter: Counter::Chars,
        max: 3000,
        max_bytes: None,
        url_len: None,
    };
    /// 63 206 characters.
    pub const FACEBOOK: Budget = Budget {
        counter: Counter::Chars,
        max: 63206,
        max_bytes: None,
        url_len: None,
    };
}

/// The ellipsis added where text was cut.
const ELLIPSIS: char = '…';

/// Weibo's web composer counts a link of up to this many half-width units at the fixed length.
const WEIBO_URL_FREE_HALF_UNITS: usize = 140;

/// Length of `text` as the platform counts it (URLs detected with `find_urls`).
pub fn count(text: &str, budget: &Budget) -> usize {
    let counter = budget.counter;
    let normalized;
    let text = if counter == Counter::XWeighted {
        normalized = text.nfc().collect::<String>();
        normalized.as_str()
    } else {
        text
    };
    let Some(url_len) = budget.url_len else {
        return plain_cost(text, counter).div_ceil(scale(counter));
    };

    let urls = find_urls(text);
    let mut spans: Vec<(Range<usize>, bool)> = urls.iter().map(|r| (r.clone(), true)).collect();
    if counter == Counter::XWeighted {
        spans.extend(bare_domains(text, &urls).into_iter().map(|r| (r, false)));
        spans.sort_by_key(|(r, _)| r.start);
    }
    let mut fine = 0;
    let mut pos = 0;
    for (range, is_url) in spans {
        fine += plain_cost(&text[pos..range.start], counter);
        let s = &text[range.clone()];
        fine += if is_url {
            url_cost(s, url_len, counter)
        } else {
            plain_cost(s, counter).max(url_len * scale(counter))
        };
        pos = range.end;
    }
    fine += plain_cost(&text[pos..], counter);
    fine.div_ceil(scale(counter))
}

/// UTF-8 byte length check included: does `text` fit?
pub fn fits(text: &str, budget: &Budget) -> bool {
    budget.max_bytes.is_none_or(|max| text.len() <= max) && count(text, budget) <= budget.max
}

/// Costs are added up in hundredths of a character for X (as twitter-text does) and in
/// half characters for Weibo, and rounded up at the end.
fn scale(counter: Counter) -> usize {
    match counter {
        Counter::XWeighted => 100,
        Counter::Weibo => 2,
        Counter::Graphemes | Counter::Chars | Counter::Utf16 => 1,
    }
}

/// Cost of `s` counted as written, in the counter's fine units.
fn plain_cost(s: &str, counter: Counter) -> usize {
    match counter {
        Counter::Graphemes => s.graphemes(true).count(),
        Counter::Chars => s.chars().count(),
        Counter::Utf16 => s.encode_utf16().count(),
        Counter::Weibo => s.chars().map(weibo_half_units).sum(),
        Counter::XWeighted => s.graphemes(true).map(x_grapheme_weight).sum(),
    }
}

/// Cost of one character counted as written, in fine units (graphemes: at most one each).
fn char_cost(c: char, counter: Counter) -> usize {
    match counter {
        Counter::Graphemes | Counter::Chars => 1,
        Counter::Utf16 => c.len_utf16(),
        Counter::Weibo => weibo_half_units(c),
        Counter::XWeighted => x_code_point_weight(c),
    }
}

/// A URL: the fixed length, plus its non-ASCII characters as written (a platform may end the
/// link before them), plus, on Weibo, whatever exceeds 140 half-width units.
fn url_cost(url: &str, url_len: usize, counter: Counter) -> usize {
    let mut cost = url_len * scale(counter);
    cost += url
        .chars()
        .filter(|c| !c.is_ascii())
        .map(|c| char_cost(c, counter))
        .sum::<usize>();
    if counter == Counter::Weibo {
        let written: usize = url.chars().map(weibo_half_units).sum();
        cost += written.saturating_sub(WEIBO_URL_FREE_HALF_UNITS);
    }
    cost
}

fn weibo_half_units(c: char) -> usize {
    if u32::from(c) <= 0xFF {
        1
    } else {
        2 * c.len_utf16()
    }
}

fn x_code_point_weight(c: char) -> usize {
    match u32::from(c) {
        0x0000..=0x10FF | 0x2000..=0x200D | 0x2010..=0x201F | 0x2032..=0x2037 => 100,
        _ => 200,
    }
}

fn x_grapheme_weight(g: &str) -> usize {
    if is_emoji_sequence(g) {
        200
    } else {
        g.chars().map(x_code_point_weight).sum()
    }
}

/// An emoji, alone or as a sequence X weighs once: a flag, a keycap, or a pictograph followed
/// only by other pictographs, ZWJ, VS16, skin-tone modifiers and tag characters.
fn is_emoji_sequence(g: &str) -> bool {
    let mut chars = g.chars();
    let Some(first) = chars.next() else {
        return false;
    };
    let rest = chars.as_str();
    if is_regional_indicator(first) {
        let mut rest = rest.chars();
        return rest.next().is_some_and(is_regional_indicator) && rest.next().is_none();
    }
    if matches!(first, '0'..='9' | '#' | '*') {
        return rest == "\u{FE0F}\u{20E3}";
    }
    is_extended_pictographic(first) && rest.chars().all(|c| {
        matches!(c, '\u{200D}' | '\u{FE0F}' | '\u{1F3FB}'..='\u{1F3FF}' | '\u{E0020}'..='\u{E007F}')
            || is_extended_pictographic(c)
    })
}

fn is_regional_indicator(c: char) -> bool {
    matches!(c, '\u{1F1E6}'..='\u{1F1FF}')
}

/// Unicode's Extended_Pictographic as of Unicode 17 (which dropped many non-emoji symbols
/// from it), the data `unicode-segmentation` 1.13 segments with; a unit test checks that the
/// two agree, so an update of that crate that changes the property fails loudly.
fn is_extended_pictographic(c: char) -> bool {
    let u = u32::from(c);
    EXTENDED_PICTOGRAPHIC
        .binary_search_by(|&(lo, hi)| {
            if hi < u {
                std::cmp::Ordering::Less
            } else if lo > u {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

#[rustfmt::skip]
const EXTENDED_PICTOGRAPHIC: &[(u32, u32)] = &[
    (0x00A9, 0x00A9), (0x00AE, 0x00AE), (0x203C, 0x203C), (0x2049, 0x2049), (0x2122, 0x2122),
    (0x2139, 0x2139), (0x2194, 0x2199), (0x21A9, 0x21AA), (0x231A, 0x231B), (0x2328, 0x2328),
    (0x23CF, 0x23CF), (0x23E9, 0x23F3), (0x23F8, 0x23FA), (0x24C2, 0x24C2), (0x25AA, 0x25AB),
    (0x25B6, 0x25B6), (0x25C0, 0x25C0), (0x25FB, 0x25FE), (0x2600, 0x2604), (0x260E, 0x260E),
    (0x2611, 0x2611), (0x2614, 0x2615), (0x2618, 0x2618), (0x261D, 0x261D), (0x2620, 0x2620),
    (0x2622, 0x2623), (0x2626, 0x2626), (0x262A, 0x262A), (0x262E, 0x262F), (0x2638, 0x263A),
    (0x2640, 0x2640), (0x2642, 0x2642), (0x2648, 0x2653), (0x265F, 0x2660), (0x2663, 0x2663),
    (0x2665, 0x2666), (0x2668, 0x2668), (0x267B, 0x267B), (0x267E, 0x267F), (0x2692, 0x2697),
    (0x2699, 0x2699), (0x269B, 0x269C), (0x26A0, 0x26A1), (0x26A7, 0x26A7), (0x26AA, 0x26AB),
    (0x26B0, 0x26B1), (0x26BD, 0x26BE), (0x26C4, 0x26C5), (0x26C8, 0x26C8), (0x26CE, 0x26CF),
    (0x26D1, 0x26D1), (0x26D3, 0x26D4), (0x26E9, 0x26EA), (0x26F0, 0x26F5), (0x26F7, 0x26FA),
    (0x26FD, 0x26FD), (0x2702, 0x2702), (0x2705, 0x2705), (0x2708, 0x270D), (0x270F, 0x270F),
    (0x2712, 0x2712), (0x2714, 0x2714), (0x2716, 0x2716), (0x271D, 0x271D), (0x2721, 0x2721),
    (0x2728, 0x2728), (0x2733, 0x2734), (0x2744, 0x2744), (0x2747, 0x2747), (0x274C, 0x274C),
    (0x274E, 0x274E), (0x2753, 0x2755), (0x2757, 0x2757), (0x2763, 0x2764), (0x2795, 0x2797),
    (0x27A1, 0x27A1), (0x27B0, 0x27B0), (0x27BF, 0x27BF), (0x2934, 0x2935), (0x2B05, 0x2B07),
    (0x2B1B, 0x2B1C), (0x2B50, 0x2B50), (0x2B55, 0x2B55), (0x3030, 0x3030), (0x303D, 0x303D),
    (0x3297, 0x3297), (0x3299, 0x3299), (0x1F004, 0x1F004), (0x1F02C, 0x1F02F), (0x1F094, 0x1F09F),
    (0x1F0AF, 0x1F0B0), (0x1F0C0, 0x1F0C0), (0x1F0CF, 0x1F0D0), (0x1F0F6, 0x1F0FF), (0x1F170, 0x1F171),
    (0x1F17E, 0x1F17F), (0x1F18E, 0x1F18E), (0x1F191, 0x1F19A), (0x1F1AE, 0x1F1E5), (0x1F201, 0x1F20F),
    (0x1F21A, 0x1F21A), (0x1F22F, 0x1F22F), (0x1F232, 0x1F23A), (0x1F23C, 0x1F23F), (0x1F249, 0x1F25F),
    (0x1F266, 0x1F321), (0x1F324, 0x1F393), (0x1F396, 0x1F397), (0x1F399, 0x1F39B), (0x1F39E, 0x1F3F0),
    (0x1F3F3, 0x1F3F5), (0x1F3F7, 0x1F3FA), (0x1F400, 0x1F4FD), (0x1F4FF, 0x1F53D), (0x1F549, 0x1F54E),
    (0x1F550, 0x1F567), (0x1F56F, 0x1F570), (0x1F573, 0x1F57A), (0x1F587, 0x1F587), (0x1F58A, 0x1F58D),
    (0x1F590, 0x1F590), (0x1F595, 0x1F596), (0x1F5A4, 0x1F5A5), (0x1F5A8, 0x1F5A8), (0x1F5B1, 0x1F5B2),
    (0x1F5BC, 0x1F5BC), (0x1F5C2, 0x1F5C4), (0x1F5D1, 0x1F5D3), (0x1F5DC, 0x1F5DE), (0x1F5E1, 0x1F5E1),
    (0x1F5E3, 0x1F5E3), (0x1F5E8, 0x1F5E8), (0x1F5EF, 0x1F5EF), (0x1F5F3, 0x1F5F3), (0x1F5FA, 0x1F64F),
    (0x1F680, 0x1F6C5), (0x1F6CB, 0x1F6D2), (0x1F6D5, 0x1F6E5), (0x1F6E9, 0x1F6E9), (0x1F6EB, 0x1F6F0),
    (0x1F6F3, 0x1F6FF), (0x1F7DA, 0x1F7FF), (0x1F80C, 0x1F80F), (0x1F848, 0x1F84F), (0x1F85A, 0x1F85F),
    (0x1F888, 0x1F88F), (0x1F8AE, 0x1F8AF), (0x1F8BC, 0x1F8BF), (0x1F8C2, 0x1F8CF), (0x1F8D9, 0x1F8FF),
    (0x1F90C, 0x1F93A), (0x1F93C, 0x1F945), (0x1F947, 0x1F9FF), (0x1FA58, 0x1FA5F), (0x1FA6E, 0x1FAFF),
    (0x1FC00, 0x1FFFD),
];

/// Scripts written without spaces between words (Han, Kana, Thai, ...), CJK punctuation and
/// full-width forms: a line may break between any two of their grapheme clusters.
fn is_unspaced(c: char) -> bool {
    matches!(u32::from(c),
        0x0E00..=0x0EFF // Thai, Lao
        | 0x1000..=0x109F // Myanmar
        | 0x1780..=0x17FF // Khmer
        | 0x2E80..=0x2FDF // CJK and Kangxi radicals
        | 0x2FF0..=0x303F // ideographic description, CJK symbols and punctuation
        | 0x3040..=0x312F // Hiragana, Katakana, Bopomofo
        | 0x3190..=0x33FF // Kanbun, strokes, Katakana extension, enclosed and compatibility CJK
        | 0x3400..=0x4DBF // CJK extension A
        | 0x4E00..=0x9FFF // CJK unified ideographs
        | 0xA000..=0xA4CF // Yi
        | 0xF900..=0xFAFF // CJK compatibility ideographs
        | 0xFE10..=0xFE1F // vertical forms
        | 0xFE30..=0xFE4F // CJK compatibility forms
        | 0xFF00..=0xFFEF // half-width and full-width forms
        | 0x1B000..=0x1B16F // Kana supplement and extensions
        | 0x20000..=0x3FFFF // CJK extensions B and later
    )
}

/// Letters, digits and marks of any script, and underscore: what a hashtag or username is
/// made of.
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || is_combining_mark(c) || c == '_'
}

fn is_joiner(c: char) -> bool {
    matches!(c, '\u{200C}' | '\u{200D}')
}

/// The pieces of a post, most important last-to-drop first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Parts {
    pub title: String,
    pub summary: String,
    /// The article link; never cut, never dropped.
    pub link: Option<String>,
    /// Hashtags without '#', e.g. ["NewEnergy", "广东"]; dropped from the end first when space runs out.
    pub hashtags: Vec<String>,
}

/// Builds the post text "title\n\nsummary\n\n#tag1 #tag2\nlink" (omitting empty pieces), then fits it to
/// `budget`: first drop hashtags from the end, then shorten the summary, then the title, cutting
/// on a word boundary where the script has spaces (Latin, Devanagari, Arabic) and on a grapheme
/// boundary otherwise (Han, Kana), never inside a URL, hashtag or @mention that appears in the
/// text, never inside a grapheme cluster (emoji ZWJ sequences, Devanagari conjuncts, combining
/// marks), adding "…" where text was cut, trimming whitespace before the ellipsis. The result
/// always satisfies `fits(result, budget)` as long as the link alone (plus nothing else) fits; if even
/// the link does not fit, return the link alone (callers treat this as a permanent error via `fits`).
/// Input is NFC-normalised first. Bidi isolation marks U+2066–U+2069 are removed.
///
/// Details: each piece is trimmed; a hashtag that would not read back as exactly one hashtag
/// (empty, spaces, digits only) or that repeats an earlier one (ignoring case) is left out. A
/// summary or title of which not even the first word fits is dropped whole. Trailing commas,
/// colons, dashes and opening brackets go with the whitespace before the "…", and a "…" after
/// a URL is set off by a space. Emoji count as words of their own.
pub fn fit(parts: &Parts, budget: &Budget) -> String {
    let title = clean(&parts.title);
    let summary = clean(&parts.summary);
    let link = parts.link.as_deref().map(clean).filter(|l| !l.is_empty());
    let link = link.as_deref();
    let tags = clean_tags(&parts.hashtags);

    let link_only = assemble("", "", &[], link);
    if !fits(&link_only, budget) {
        return link_only;
    }
    for kept in (0..=tags.len()).rev() {
        let text = assemble(&title, &summary, &tags[..kept], link);
        if fits(&text, budget) {
            return text;
        }
    }
    if !summary.is_empty() {
        let cut = shorten(&summary, |s| fits(&assemble(&title, s, &[], link), budget));
        if let Some(s) = cut {
            return assemble(&title, &s, &[], link);
        }
    }
    let text = assemble(&title, "", &[], link);
    if fits(&text, budget) {
        return text;
    }
    match shorten(&title, |t| fits(&assemble(t, "", &[], link), budget)) {
        Some(t) => assemble(&t, "", &[], link),
        None => link_only,
    }
}

/// Removes bidi isolation marks, NFC-normalises and trims.
fn clean(s: &str) -> String {
    let kept: String = s
        .chars()
        .filter(|c| !matches!(c, '\u{2066}'..='\u{2069}'))
        .collect();
    kept.nfc().collect::<String>().trim().to_owned()
}

fn clean_tags(tags: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for tag in tags {
        let tag = clean(tag);
        let tag = tag.trim_start_matches(['#', '＃']).trim();
        let written = format!("#{tag}");
        let whole = find_hashtags(&written).first() == Some(&(0..written.len()));
        if !whole {
            continue;
        }
        let folded = tag.to_lowercase();
        if out.iter().any(|t| t.to_lowercase() == folded) {
            continue;
        }
        out.push(tag.to_owned());
    }
    out
}

/// "title\n\nsummary\n\n#tag1 #tag2\nlink", leaving out empty pieces.
fn assemble(title: &str, summary: &str, tags: &[String], link: Option<&str>) -> String {
    let mut tag_line = String::new();
    for tag in tags {
        if !tag_line.is_empty() {
            tag_line.push(' ');
        }
        tag_line.push('#');
        tag_line.push_str(tag);
    }
    let body = join([title, summary], "\n\n");
    let footer = join([tag_line.as_str(), link.unwrap_or("")], "\n");
    join([body.as_str(), footer.as_str()], "\n\n")
}

fn join<'a>(pieces: impl IntoIterator<Item = &'a str>, sep: &str) -> String {
    let mut out = String::new();
    for piece in pieces.into_iter().filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push_str(sep);
        }
        out.push_str(piece);
    }
    out
}

/// The longest cut of `piece` (ending in "…") that `fits` accepts, never inside a URL,
/// hashtag or mention.
fn shorten(piece: &str, fits: impl Fn(&str) -> bool) -> Option<String> {
    let urls = find_urls(piece);
    let mut atoms = urls.clone();
    atoms.extend(find_hashtags(piece));
    atoms.extend(find_mentions(piece));
    atoms.sort_by_key(|r| r.start);

    longest_fitting(piece, &cuts(piece, &atoms, &urls), fits)
}

/// A place to cut: the end of the kept text (after trimming) and whether a URL ends there.
type Cut = (usize, bool);

/// The distinct cuts of `piece`, shortest first: at grapheme cluster boundaries next to
/// whitespace, to a character of a script without spaces or to an emoji, outside atoms.
fn cuts(piece: &str, atoms: &[Range<usize>], urls: &[Range<usize>]) -> Vec<Cut> {
    let graphemes: Vec<(usize, &str)> = piece.grapheme_indices(true).collect();
    let mut out: Vec<Cut> = Vec::new();
    let mut atom = 0;
    for pair in graphemes.windows(2) {
        let ((_, before), (at, after)) = (pair[0], pair[1]);
        while atom < atoms.len() && atoms[atom].end <= at {
            atom += 1;
        }
        if atoms.get(atom).is_some_and(|a| a.start < at) {
            continue;
        }
        if !is_break_opportunity(before) && !is_break_opportunity(after) {
            continue;
        }
        let end = trim_before_ellipsis(piece, at, atoms);
        if end == 0 || out.last().is_some_and(|&(last, _)| last == end) {
            continue;
        }
        let last = piece[..end].graphemes(true).next_back().unwrap_or("");
        if format!("{last}{ELLIPSIS}").graphemes(true).count() != 2 {
            continue; // the ellipsis would join the last cluster (e.g. after a Prepend mark)
        }
        out.push((end, urls.iter().any(|u| u.end == end)));
    }
    out
}

/// A grapheme cluster next to which a line may break: whitespace, a character of a script
/// without spaces, or an emoji.
fn is_break_opportunity(g: &str) -> bool {
    g.chars().next().is_some_and(|c| {
        c.is_whitespace()
            || is_unspaced(c)
            || is_regional_indicator(c)
            || is_extended_pictographic(c)
    })
}

/// Moves `end` back over whitespace and soft punctuation (commas, dashes, opening brackets)
/// that would dangle before the ellipsis, never into an atom.
fn trim_before_ellipsis(piece: &str, mut end: usize, atoms: &[Range<usize>]) -> usize {
    while let Some((start, g)) = piece[..end].grapheme_indices(true).next_back() {
        let mut chars = g.chars();
        let first = chars.next().unwrap_or(' ');
        let single = chars.next().is_none();
        let dangling = first.is_whitespace() || (single && is_soft_punctuation(first));
        if !dangling || atoms.iter().any(|a| a.start < end && start < a.end) {
            break;
        }
        end = start;
    }
    end
}

fn is_soft_punctuation(c: char) -> bool {
    const SOFT: &str = ",;:-–—([{\"'“‘«、，；：（「『《〈【،؛";
    SOFT.contains(c)
}

/// The text for the longest cut that fits, found by bisection (a longer cut never costs
/// less) and then checked downwards, so a result always fits.
fn longest_fitting(piece: &str, cuts: &[Cut], fits: impl Fn(&str) -> bool) -> Option<String> {
    let text = |&(end, after_url): &Cut| {
        let mut s = String::with_capacity(end + 4);
        s.push_str(&piece[..end]);
        if after_url {
            s.push(' ');
        }
        s.push(ELLIPSIS);
        s
    };
    let (mut lo, mut hi) = (0, cuts.len());
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if fits(&text(&cuts[mid])) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    cuts[..lo].iter().rev().map(text).find(|s| fits(s))
}

/// Byte ranges of URLs (http:// or https:// up to whitespace, trailing punctuation like .,;:!?)'" and
/// unmatched closing brackets excluded) in `text`, in order.
///
/// A URL also ends at a character no URL holds unencoded (`<>"` and the like), at CJK
/// characters and punctuation (Chinese and Japanese text runs on after a link without a space),
/// and at any other non-alphanumeric non-ASCII character. The scheme must not follow an ASCII
/// letter or digit, and a host must follow it.
pub fn find_urls(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(offset) = bytes[from..]
        .iter()
        .position(|b| b.eq_ignore_ascii_case(&b'h'))
    {
        let start = from + offset;
        from = start + 1;
        let rest = &bytes[start..];
        let scheme = if starts_with_ignore_case(rest, b"https://") {
            8
        } else if starts_with_ignore_case(rest, b"http://") {
            7
        } else {
            continue;
        };
        if !may_precede_url(text[..start].chars().next_back()) {
            continue;
        }
        let host = start + scheme;
        let run = text[host..]
            .char_indices()
            .find(|&(_, c)| !is_url_char(c))
            .map_or(text.len(), |(i, _)| host + i);
        let end = trim_url_end(text, host, run);
        if text[host..end].starts_with(|c: char| c.is_alphanumeric()) {
            out.push(start..end);
            from = end;
        }
    }
    out
}

fn starts_with_ignore_case(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.len() >= needle.len() && haystack[..needle.len()].eq_ignore_ascii_case(needle)
}

fn may_precede_url(before: Option<char>) -> bool {
    before.is_none_or(|c| {
        !(c.is_ascii_alphanumeric()
            || matches!(
                c,
                '@' | '$' | '#' | '_' | '＠' | '＃' | '\u{202A}'..='\u{202E}'
            ))
    })
}

fn is_url_char(c: char) -> bool {
    if c.is_ascii() {
        c.is_ascii_graphic() && !matches!(c, '<' | '>' | '"' | '`' | '^' | '{' | '}' | '\\')
    } else {
        (c.is_alphanumeric() || is_combining_mark(c)) && !is_unspaced(c)
    }
}

/// Drops trailing punctuation and unmatched closing brackets from the URL `text[host..end]`.
fn trim_url_end(text: &str, host: usize, mut end: usize) -> usize {
    while let Some(last) = text[host..end].chars().next_back() {
        let drop = match last {
            '.' | ',' | ';' | ':' | '!' | '?' | '\'' | '"' => true,
            ')' | ']' | '}' => {
                let open = match last {
                    ')' => '(',
                    ']' => '[',
                    _ => '{',
                };
                let body = &text[host..end];
                body.matches(last).count() > body.matches(open).count()
            }
            _ => false,
        };
        if !drop {
            break;
        }
        end -= last.len_utf8();
    }
    end
}

/// Words X links without a scheme: ASCII labels joined by dots, ending in a label of two or
/// more letters (`example.com`, `x.com/path`), not preceded by a letter, digit or `@#$_.-/`.
/// Wider than X's own list of top-level domains, so it only ever over-counts.
fn bare_domains(text: &str, urls: &[Range<usize>]) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        // An ASCII byte is a whole character, so `i` is a character boundary below.
        if !bytes[i].is_ascii_alphanumeric() || urls.iter().any(|u| u.start <= i && i < u.end) {
            i += 1;
            continue;
        }
        let starts = text[..i].chars().next_back().is_none_or(|c| {
            !(c.is_ascii_alphanumeric()
                || matches!(c, '@' | '#' | '$' | '_' | '.' | '-' | '/' | '＠' | '＃'))
        });
        if !starts {
            i += 1;
            continue;
        }
        // Labels of [A-Za-z0-9-], separated by single dots.
        let mut end = i;
        let mut labels = 0;
        let mut last_label = i..i;
        let mut j = i;
        loop {
            let label_start = j;
            while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'-') {
                j += 1;
            }
            if j == label_start {
                break;
            }
            labels += 1;
            last_label = label_start..j;
            end = j;
            if j + 1 < bytes.len() && bytes[j] == b'.' && bytes[j + 1].is_ascii_alphanumeric() {
                j += 1;
            } else {
                break;
            }
        }
        let tld = &bytes[last_label];
        let is_domain = labels >= 2 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic);
        if !is_domain || urls.iter().any(|u| u.start < end && i < u.end) {
            i = end.max(i + 1);
            continue;
        }
        if bytes.get(end) == Some(&b'/') {
            let run = text[end..]
                .char_indices()
                .find(|&(_, c)| !c.is_ascii() || !is_url_char(c))
                .map_or(text.len(), |(k, _)| end + k);
            end = trim_url_end(text, end, run).max(end);
            if urls.iter().any(|u| u.start < end && i < u.end) {
                i = end;
                continue;
            }
        }
        out.push(i..end);
        i = end;
    }
    out
}

/// Byte ranges of hashtags (#word, word = letters/digits/marks/underscore of any script) in `text`.
///
/// As on X and Mastodon: the `#` (or full-width `＃`) must not follow a letter, digit, mark,
/// underscore or `&`; the word starts with a letter, digit or underscore, holds at least one
/// letter or mark (`#2024` is no hashtag), and may hold ZWJ/ZWNJ between its characters.
/// Hashtags inside URLs are not reported.
pub fn find_hashtags(text: &str) -> Vec<Range<usize>> {
    let urls = find_urls(text);
    let mut out = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let before = prev;
        prev = Some(c);
        if !matches!(c, '#' | '＃')
            || before.is_some_and(|b| is_word_char(b) || is_joiner(b) || b == '&')
            || urls.iter().any(|u| u.start <= i && i < u.end)
        {
            continue;
        }
        let body = i + c.len_utf8();
        if !text[body..].starts_with(|f: char| f.is_alphanumeric() || f == '_') {
            continue;
        }
        let end = word_end(text, body);
        if text[body..end]
            .chars()
            .any(|w| w.is_alphabetic() || is_combining_mark(w))
        {
            out.push(i..end);
        }
    }
    out
}

/// End of the run of word characters (joiners allowed between them) starting at `from`.
fn word_end(text: &str, from: usize) -> usize {
    let mut end = from;
    for (k, c) in text[from..].char_indices() {
        if is_word_char(c) {
            end = from + k + c.len_utf8();
        } else if !is_joiner(c) {
            break;
        }
    }
    end
}

/// Byte ranges of @mentions: `@user`, `@user@example.social` (Mastodon), `@alice.bsky.social`
/// (Bluesky), `@用户` (Weibo); not e-mail addresses, not inside URLs.
fn find_mentions(text: &str) -> Vec<Range<usize>> {
    let urls = find_urls(text);
    let mut out: Vec<Range<usize>> = Vec::new();
    let mut prev: Option<char> = None;
    for (i, c) in text.char_indices() {
        let before = prev;
        prev = Some(c);
        if !matches!(c, '@' | '＠')
            || before
                .is_some_and(|b| is_word_char(b) || is_joiner(b) || matches!(b, '@' | '＠' | '.'))
            || out.last().is_some_and(|m| i < m.end)
            || urls.iter().any(|u| u.start <= i && i < u.end)
        {
            continue;
        }
        let user = i + c.len_utf8();
        let mut end = dotted_end(text, user);
        if end == user {
            continue;
        }
        if text[end..].starts_with('@') {
            let domain = dotted_end(text, end + 1);
            if domain > end + 1 {
                end = domain;
            }
        }
        out.push(i..end);
    }
    out
}

/// End of a run of word characters that may contain single `.` or `-` between them.
fn dotted_end(text: &str, from: usize) -> usize {
    let mut end = word_end(text, from);
    if end == from {
        return end;
    }
    while let Some(sep) = text[end..]
        .chars()
        .next()
        .filter(|c| matches!(c, '.' | '-'))
    {
        let next = word_end(text, end + sep.len_utf8());
        if next == end + sep.len_utf8() {
            break;
        }
        end = next;
    }
    end
}

/// Turns a topic label into a hashtag body: removes spaces and punctuation, keeps letters/digits of
/// any script ("New energy" -> "NewEnergy", "新能源" -> "新能源", "Bio-medicine" -> "BioMedicine").
///
/// In a label of several words, each all-lowercase word gets a capital first letter ("electric
/// vehicles" -> "ElectricVehicles"; "iPhone" keeps its case). Words of a script with spaces
/// but no case (Arabic, Devanagari, Hebrew) are joined with `_`, as hashtags in those
/// languages are written ("طاقة متجددة" -> "طاقة_متجددة"), since nothing else would show where
/// one word ends. Marks stay with their letters; leading marks are dropped.
pub fn hashtag(label: &str) -> String {
    let label: String = label.nfc().collect();
    let mut words: Vec<&str> = Vec::new();
    let mut i = 0;
    while i < label.len() {
        let c = label[i..].chars().next().unwrap_or(' ');
        if c.is_alphanumeric() || is_combining_mark(c) {
            let end = word_end(&label, i);
            // `_` is punctuation here: split on it too.
            words.extend(label[i..end].split('_').filter(|w| !w.is_empty()));
            i = end;
        } else {
            i += c.len_utf8();
        }
    }
    let several = words.len() > 1;
    let mut out = String::new();
    let mut previous: Option<WordKind> = None;
    for word in words {
        let kind = word_kind(word);
        if previous == Some(WordKind::Caseless) && kind == WordKind::Caseless {
            out.push('_');
        }
        previous = Some(kind);
        let lowercase =
            word.chars().any(char::is_lowercase) && !word.chars().any(char::is_uppercase);
        let mut chars = word.chars();
        match chars.next() {
            Some(first) if several && lowercase && first.is_lowercase() => {
                out.extend(first.to_uppercase());
                out.push_str(chars.as_str());
            }
            _ => out.push_str(word),
        }
    }
    let start = out
        .char_indices()
        .find(|&(_, c)| c.is_alphanumeric())
        .map_or(out.len(), |(k, _)| k);
    out.split_off(start)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WordKind {
    /// Has upper- or lowercase letters.
    Cased,
    /// A script written without spaces (Han, Kana, Thai).
    Unspaced,
    /// Letters with no case, from a script with spaces.
    Caseless,
    /// No letters.
    Other,
}

fn word_kind(word: &str) -> WordKind {
    match word.chars().find(|c| c.is_alphabetic()) {
        None => WordKind::Other,
        Some(c) if is_unspaced(c) => WordKind::Unspaced,
        Some(_) if word.chars().any(|c| c.is_lowercase() || c.is_uppercase()) => WordKind::Cased,
        Some(_) => WordKind::Caseless,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Only a pictograph joins a following pictograph across ZWJ (GB11), and unlike Extend or
    /// SpacingMark it does not join a letter's ZWJ.
    fn pictographic_by_grapheme_rules(c: char) -> bool {
        let joined = format!("{c}\u{200D}{c}");
        let after_letter = format!("a\u{200D}{c}");
        joined.graphemes(true).count() == 1 && after_letter.graphemes(true).count() == 2
    }

    #[test]
    fn extended_pictographic_table_agrees_with_the_grapheme_rules() {
        // Extended_Pictographic lies in planes 0 and 1.
        let mismatches: Vec<String> = (0..=0x1FFFF_u32)
            .filter_map(char::from_u32)
            .filter(|&c| is_extended_pictographic(c) != pictographic_by_grapheme_rules(c))
            .map(|c| format!("U+{:04X}", u32::from(c)))
            .collect();
        assert!(mismatches.is_empty(), "{mismatches:?}");
    }
}
