//! The preferences form as submitted: parsing, defaults and validation. The same
//! fields serve the subscribe page and the preference page (which has no address).

use crate::content::{Channel, TOPICS};
use crate::email::schedule::{Cadence, Frequency};
use crate::store::Subscriber;

/// A name longer than this is cut (it only greets the reader).
const NAME_MAX_CHARS: usize = 120;

/// The fields exactly as the browser sent them, so a refused form is shown again
/// with what the reader typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FormInput {
    pub email: String,
    pub name: String,
    pub locale: String,
    pub channels: Vec<String>,
    pub topics: Vec<String>,
    pub frequency: String,
    pub time_zone: String,
    pub hour: String,
    pub weekday: String,
    /// The locale the page was shown in (a hidden field), for the consent record.
    pub page_locale: String,
    /// The link token (a hidden field on pages reached through a link).
    pub token: String,
}

impl FormInput {
    /// An empty subscribe form in `locale`: daily at 08:00 UTC, Mondays for weekly.
    pub fn blank(locale: &str) -> Self {
        Self {
            locale: locale.to_owned(),
            frequency: Frequency::Daily.as_str().to_owned(),
            time_zone: "UTC".to_owned(),
            hour: "8".to_owned(),
            weekday: "1".to_owned(),
            page_locale: locale.to_owned(),
            ..Self::default()
        }
    }

    /// A subscriber's current preferences.
    pub fn from_subscriber(s: &Subscriber, page_locale: &str) -> Self {
        Self {
            email: s.email.clone(),
            name: s.name.clone().unwrap_or_default(),
            locale: s.locale.clone(),
            channels: s.channels.clone(),
            topics: s.topics.clone(),
            frequency: s.cadence.frequency.as_str().to_owned(),
            time_zone: s.cadence.time_zone.clone(),
            hour: s.cadence.hour.to_string(),
            weekday: s.cadence.weekday.to_string(),
            page_locale: page_locale.to_owned(),
            token: String::new(),
        }
    }

    /// Parses an `application/x-www-form-urlencoded` body. Checkboxes repeat their
    /// name (`channel=a&channel=b`); unknown fields are ignored.
    pub fn parse(body: &[u8]) -> Self {
        let mut f = Self::default();
        for (k, v) in url::form_urlencoded::parse(body) {
            let v = v.into_owned();
            match k.as_ref() {
                "email" => f.email = v,
                "name" => f.name = v,
                "locale" => f.locale = v,
                "channel" => f.channels.push(v),
                "topic" => f.topics.push(v),
                "frequency" => f.frequency = v,
                "time_zone" => f.time_zone = v,
                "hour" => f.hour = v,
                "weekday" => f.weekday = v,
                "page_locale" => f.page_locale = v,
                "t" => f.token = v,
                _ => {}
            }
        }
        f
    }
}

/// A form field that can be refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Email,
    Locale,
    Channel,
    Topic,
    Frequency,
    TimeZone,
    Hour,
    Weekday,
}

impl Field {
    /// The fluent message explaining what is wrong with the field.
    pub fn message_id(self) -> &'static str {
        match self {
            Field::Email => "pages-error-email",
            Field::Locale => "pages-error-locale",
            Field::Channel => "pages-error-channel",
            Field::Topic => "pages-error-topic",
            Field::Frequency => "pages-error-frequency",
            Field::TimeZone => "pages-error-time-zone",
            Field::Hour => "pages-error-hour",
            Field::Weekday => "pages-error-weekday",
        }
    }
}

/// One refusal: the field and, where it helps, the precise reason (English, shown
/// after the localised message).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    pub field: Field,
    pub detail: Option<String>,
}

/// Validated preferences, ready to store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prefs {
    pub name: Option<String>,
    pub locale: String,
    pub channels: Vec<String>,
    pub topics: Vec<String>,
    pub cadence: Cadence,
}

impl Prefs {
    pub fn apply(&self, s: &mut Subscriber) {
        s.name.clone_from(&self.name);
        s.locale.clone_from(&self.locale);
        s.channels.clone_from(&self.channels);
        s.topics.clone_from(&self.topics);
        s.cadence = self.cadence.clone();
    }
}

/// Checks the form. With `with_email` the address is required and returned
/// normalised; every problem is reported, not just the first.
pub fn validate(
    f: &FormInput,
    channels: &[Channel],
    with_email: bool,
) -> Result<(Option<String>, Prefs), Vec<Problem>> {
    let mut problems = Vec::new();
    let mut refuse = |field, detail: Option<String>| problems.push(Problem { field, detail });
    let email = if with_email {
        match check_address(&f.email) {
            Ok(a) => Some(a),
            Err(reason) => {
                refuse(Field::Email, Some(reason));
                None
            }
        }
    } else {
        None
    };
    if !crate::locale::is_supported(&f.locale) {
        refuse(Field::Locale, None);
    }
    let mut chosen_channels: Vec<String> = Vec::new();
    for c in &f.channels {
        if !channels.iter().any(|x| &x.id == c) {
            refuse(Field::Channel, Some(format!("unknown channel {c:?}")));
        } else if !chosen_channels.contains(c) {
            chosen_channels.push(c.clone());
        }
    }
    let mut chosen_topics: Vec<String> = Vec::new();
    for t in &f.topics {
        if !TOPICS.contains(&t.as_str()) {
            refuse(Field::Topic, Some(format!("unknown topic {t:?}")));
        } else if !chosen_topics.contains(t) {
            chosen_topics.push(t.clone());
        }
    }
    let frequency = Frequency::parse(f.frequency.trim());
    if frequency.is_none() {
        refuse(Field::Frequency, None);
    }
    let hour = f.hour.trim().parse::<u32>().ok();
    let weekday = f.weekday.trim().parse::<u32>().ok();
    let cadence = Cadence {
        frequency: frequency.unwrap_or_default(),
        time_zone: f.time_zone.trim().to_owned(),
        hour: hour.unwrap_or(99),
        weekday: weekday.unwrap_or(99),
    };
    // Cadence::check names the first bad field; check each one so all are reported.
    let probe = |c: Cadence| c.check().err();
    let ok = Cadence {
        frequency: cadence.frequency,
        time_zone: "UTC".into(),
        hour: 0,
        weekday: 1,
    };
    if let Some(e) = probe(Cadence {
        time_zone: cadence.time_zone.clone(),
        ..ok.clone()
    }) {
        refuse(Field::TimeZone, Some(e));
    }
    if probe(Cadence {
        hour: cadence.hour,
        ..ok.clone()
    })
    .is_some()
    {
        refuse(Field::Hour, None);
    }
    if probe(Cadence {
        weekday: cadence.weekday,
        ..ok
    })
    .is_some()
    {
        refuse(Field::Weekday, None);
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let name: String = f
        .name
        .chars()
        .filter(|c| !c.is_control())
        .take(NAME_MAX_CHARS)
        .collect::<String>()
        .trim()
        .to_owned();
    Ok((
        email,
        Prefs {
            name: (!name.is_empty()).then_some(name),
            locale: f.locale.clone(),
            channels: chosen_channels,
            topics: chosen_topics,
            cadence,
        },
    ))
}

/// Checks an address typed into the form and returns it as the store keeps it (see
/// [`crate::email::message::normalize_address`]), or says in one short English
/// phrase what is wrong.
pub fn check_address(s: &str) -> Result<String, String> {
    crate::email::message::normalized(s).map_err(|e| format!("the address {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_are_checked_with_a_reason() {
        assert_eq!(
            check_address("  Li.Wei@Example.ORG "),
            Ok("Li.Wei@example.org".into())
        );
        assert_eq!(
            check_address("ana@münchen.de"),
            Ok("ana@xn--mnchen-3ya.de".into())
        );
        for (bad, reason) in [
            ("", "empty"),
            ("li.example.org", "has no @"),
            ("a@b@example.org", "more than one @"),
            ("li@example", "no dot"),
            ("li wei@example.org", "space"),
            ("li@exa\r\nmple.org", "line break"),
            ("@example.org", "before the @"),
            ("li@", "after the @"),
            ("<li>@example.org", "not valid"),
        ] {
            let e = check_address(bad).unwrap_err();
            assert!(e.contains(reason), "{bad:?}: {e}");
        }
    }

    #[test]
    fn every_problem_is_reported() {
        let f = FormInput {
            email: "nope".into(),
            locale: "fr".into(),
            channels: vec!["nowhere".into()],
            topics: vec!["gossip".into()],
            frequency: "hourly".into(),
            time_zone: "Mars/Olympus".into(),
            hour: "25".into(),
            weekday: "0".into(),
            ..FormInput::default()
        };
        let fields: Vec<Field> = validate(&f, &[], true)
            .unwrap_err()
            .into_iter()
            .map(|p| p.field)
            .collect();
        assert_eq!(
            fields,
            [
                Field::Email,
                Field::Locale,
                Field::Channel,
                Field::Topic,
                Field::Frequency,
                Field::TimeZone,
                Field::Hour,
                Field::Weekday
            ]
        );
        let (email, prefs) = validate(&FormInput::blank("ar"), &[], false).unwrap();
        assert_eq!(email, None);
        assert_eq!(prefs.cadence.time_zone, "UTC");
    }
}
