//! The one module that owns fluent: catalogues are embedded from `locales/<locale>/`,
//! messages fall back to the reference locale, and requests are matched to a locale
//! by `Accept-Language`.
//!
//! Bidi isolation marks (U+2068/U+2069) are switched off: our messages end up in feed
//! titles, subjects and attributes, where the marks are stray characters. HTML output
//! sets `dir` on its elements instead.

use crate::locale::{self, LOCALES, REFERENCE};
use fluent_bundle::concurrent::FluentBundle;
use fluent_bundle::{FluentArgs, FluentResource, FluentValue};
use std::collections::HashMap;
use unic_langid::LanguageIdentifier;

/// Every catalogue file of every locale, compiled into the binary.
macro_rules! catalogues {
    ($($locale:literal),*) => {
        &[$(
            ($locale, "main.ftl", include_str!(concat!("../locales/", $locale, "/main.ftl"))),
            ($locale, "email.ftl", include_str!(concat!("../locales/", $locale, "/email.ftl"))),
            ($locale, "pages.ftl", include_str!(concat!("../locales/", $locale, "/pages.ftl"))),
        )*]
    };
}

/// The catalogues compiled into the binary, `(locale, file name, text)`.
const CATALOGUES: &[(&str, &str, &str)] = catalogues!(
    "zh-Hans", "zh-Hant", "en", "de", "ja", "ms", "ne", "es", "ar"
);

/// Localised messages for every supported locale.
pub struct I18n {
    bundles: HashMap<&'static str, FluentBundle<FluentResource>>,
}

impl std::fmt::Debug for I18n {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("I18n")
            .field("locales", &self.bundles.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A message argument.
#[derive(Debug, Clone, Copy)]
pub enum Arg<'a> {
    Str(&'a str),
    Num(i64),
}

impl I18n {
    /// Builds the bundles from the embedded catalogues. A syntax error in a catalogue
    /// is a bug caught by the catalogue tests, so it panics with the file and error.
    pub fn new() -> Self {
        let mut bundles = HashMap::new();
        for (tag, file, text) in CATALOGUES {
            let res = FluentResource::try_new((*text).to_owned())
                .unwrap_or_else(|(_, errs)| panic!("locales/{tag}/{file}: {errs:?}"));
            let langid: LanguageIdentifier = tag.parse().expect("locale tags are valid");
            let bundle = bundles.entry(*tag).or_insert_with(|| {
                let mut b = FluentBundle::new_concurrent(vec![langid]);
                b.set_use_isolating(false);
                b
            });
            bundle
                .add_resource(res)
                .unwrap_or_else(|errs| panic!("locales/{tag}/{file}: {errs:?}"));
        }
        Self { bundles }
    }

    /// The message in `locale`, or in the reference locale, or its id (never empty).
    pub fn msg(&self, locale: &str, id: &str, args: &[(&str, Arg<'_>)]) -> String {
        self.try_msg(locale, id, args)
            .or_else(|| self.try_msg(REFERENCE, id, args))
            .unwrap_or_else(|| id.to_owned())
    }

    /// The message in exactly `locale`, if that catalogue has it.
    pub fn try_msg(&self, locale: &str, id: &str, args: &[(&str, Arg<'_>)]) -> Option<String> {
        let bundle = self.bundles.get(locale)?;
        let pattern = bundle.get_message(id)?.value()?;
        let mut fargs = FluentArgs::new();
        for (k, v) in args {
            match v {
                Arg::Str(s) => fargs.set(*k, FluentValue::from(*s)),
                Arg::Num(n) => fargs.set(*k, FluentValue::from(*n)),
            }
        }
        let mut errors = vec![];
        let s = bundle.format_pattern(pattern, Some(&fargs), &mut errors);
        errors.is_empty().then(|| s.into_owned())
    }

    /// Message ids in a locale's catalogues.
    pub fn ids(&self, locale: &str) -> Vec<String> {
        CATALOGUES
            .iter()
            .filter(|(tag, _, _)| *tag == locale)
            .flat_map(|(_, _, text)| {
                text.lines()
                    .filter_map(|l| l.split_once(" =").map(|(k, _)| k))
                    .filter(|k| {
                        !k.is_empty() && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
                    })
                    .map(str::to_owned)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// A topic's localised label.
    pub fn topic(&self, locale: &str, topic: &str) -> String {
        self.msg(locale, &format!("topic-{topic}"), &[])
    }
}

impl Default for I18n {
    fn default() -> Self {
        Self::new()
    }
}

/// Picks the best supported locale for an `Accept-Language` header.
pub fn negotiate(accept_language: &str, default: &str) -> &'static str {
    let requested: Vec<LanguageIdentifier> =
        fluent_langneg::accepted_languages::parse(accept_language)
            .into_iter()
            .map(|l| {
                // Regions that imply a script, so zh-TW readers get Traditional characters.
                let s = l.to_string();
                match s.as_str() {
                    "zh-TW" | "zh-HK" | "zh-MO" => "zh-Hant".parse().unwrap_or(l),
                    "zh" | "zh-CN" | "zh-SG" => "zh-Hans".parse().unwrap_or(l),
                    _ => l,
                }
            })
            .collect();
    let available: Vec<LanguageIdentifier> =
        LOCALES.iter().filter_map(|l| l.tag.parse().ok()).collect();
    let fallback: LanguageIdentifier = default.parse().unwrap_or_default();
    let chosen = fluent_langneg::negotiate_languages(
        &requested,
        &available,
        Some(&fallback),
        fluent_langneg::NegotiationStrategy::Lookup,
    );
    chosen
        .first()
        .and_then(|l| LOCALES.iter().find(|i| i.tag == l.to_string()))
        .map_or(locale::REFERENCE, |i| i.tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accept_language_picks_the_closest_supported_locale() {
        assert_eq!(negotiate("de-AT,de;q=0.9,en;q=0.5", "en"), "de");
        assert_eq!(negotiate("zh-TW", "en"), "zh-Hant");
        assert_eq!(negotiate("zh-CN,zh;q=0.9", "en"), "zh-Hans");
        assert_eq!(negotiate("ar-AE", "en"), "ar");
        assert_eq!(negotiate("fr-FR", "en"), "en");
        assert_eq!(negotiate("", "en"), "en");
    }
}
