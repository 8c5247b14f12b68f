//! The locales bridgecast publishes, with their autonyms and writing direction.

/// One supported locale.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LocaleInfo {
    /// BCP 47 tag as used in paths, files and feeds (`zh-Hans`, `ar`).
    pub tag: &'static str,
    /// The language's name in itself, for language pickers.
    pub autonym: &'static str,
    /// Written right to left.
    pub rtl: bool,
}

/// Every locale with a UI catalogue in `locales/`. `en` is the reference catalogue.
pub const LOCALES: &[LocaleInfo] = &[
    LocaleInfo {
        tag: "zh-Hans",
        autonym: "简体中文",
        rtl: false,
    },
    LocaleInfo {
        tag: "zh-Hant",
        autonym: "繁體中文",
        rtl: false,
    },
    LocaleInfo {
        tag: "en",
        autonym: "English",
        rtl: false,
    },
    LocaleInfo {
        tag: "de",
        autonym: "Deutsch",
        rtl: false,
    },
    LocaleInfo {
        tag: "ja",
        autonym: "日本語",
        rtl: false,
    },
    LocaleInfo {
        tag: "ms",
        autonym: "Bahasa Melayu",
        rtl: false,
    },
    LocaleInfo {
        tag: "ne",
        autonym: "नेपाली",
        rtl: false,
    },
    LocaleInfo {
        tag: "es",
        autonym: "Español",
        rtl: false,
    },
    LocaleInfo {
        tag: "ar",
        autonym: "العربية",
        rtl: true,
    },
];

/// The catalogue every other one is checked against, and the last fallback for UI text.
pub const REFERENCE: &str = "en";

pub fn info(tag: &str) -> Option<&'static LocaleInfo> {
    LOCALES.iter().find(|l| l.tag == tag)
}

pub fn is_supported(tag: &str) -> bool {
    info(tag).is_some()
}

/// `rtl` or `ltr`, for HTML `dir`.
pub fn dir(tag: &str) -> &'static str {
    if info(tag).is_some_and(|l| l.rtl) {
        "rtl"
    } else {
        "ltr"
    }
}

pub fn autonym(tag: &str) -> &str {
    info(tag).map_or(tag, |l| l.autonym)
}
