//! The markup of the subscriber pages: one document shell and the preferences form.
//! Every value is escaped; the layout uses logical CSS properties only, so a
//! right-to-left page mirrors without a second stylesheet.

use super::form::{Field, FormInput, Problem};
use crate::content::{Channel, TOPICS};
use crate::i18n::I18n;
use crate::locale::{self, LOCALES};
use crate::markdown::escape_html as e;
use std::fmt::Write;

/// The only style on the pages; the Content-Security-Policy allows exactly this text
/// by its hash.
pub const STYLE: &str = "body{font-family:system-ui,'Noto Sans','Noto Sans CJK SC','Noto Sans Arabic',\
'Noto Sans Devanagari',sans-serif;max-inline-size:40rem;margin-inline:auto;padding:1rem;line-height:1.6;color:#1b1b1b}\
a{color:#0b57d0}nav.langs{display:flex;flex-wrap:wrap;gap:.25rem 1rem;font-size:.9rem;margin-block-end:1rem}\
form{display:grid;gap:1rem}.field,fieldset{display:grid;gap:.25rem;margin:0}\
fieldset{border:1px solid #ccc;border-radius:.4rem;padding-block:.5rem;padding-inline:1rem}\
legend{font-weight:600;padding-inline:.25rem}.field>span:first-child{font-weight:600}\
.choices{display:flex;flex-wrap:wrap;gap:.25rem 1.25rem}.choices label{display:inline-flex;gap:.4rem;align-items:center}\
input[type=email],input[type=text],select{font:inherit;padding-block:.4rem;padding-inline:.5rem;border:1px solid #888;\
border-radius:.3rem;inline-size:100%;box-sizing:border-box}.hint{color:#555;font-size:.9rem;margin:0}\
.error{color:#b00020;font-weight:600;border-inline-start:4px solid #b00020;padding-inline-start:.5rem}\
.notice{background:#e8f5e9;border-inline-start:4px solid #2e7d32;padding-block:.5rem;padding-inline:1rem}\
button{font:inherit;padding-block:.6rem;padding-inline:1.2rem;background:#0b57d0;color:#fff;border:0;border-radius:.3rem;\
justify-self:start;cursor:pointer}.consent{font-size:.9rem;color:#333}.org{font-size:1.2rem;font-weight:600}";

/// Time zones offered in the time zone field's suggestions (any IANA name is accepted).
const ZONES: &[&str] = &[
    "UTC",
    "Asia/Shanghai",
    "Asia/Hong_Kong",
    "Asia/Taipei",
    "Asia/Tokyo",
    "Asia/Seoul",
    "Asia/Singapore",
    "Asia/Kuala_Lumpur",
    "Asia/Jakarta",
    "Asia/Bangkok",
    "Asia/Kathmandu",
    "Asia/Kolkata",
    "Asia/Dubai",
    "Asia/Riyadh",
    "Africa/Cairo",
    "Africa/Casablanca",
    "Africa/Johannesburg",
    "Europe/London",
    "Europe/Berlin",
    "Europe/Madrid",
    "Europe/Paris",
    "Europe/Moscow",
    "America/New_York",
    "America/Chicago",
    "America/Los_Angeles",
    "America/Mexico_City",
    "America/Bogota",
    "America/Sao_Paulo",
    "America/Argentina/Buenos_Aires",
    "Australia/Brisbane",
    "Australia/Sydney",
    "Pacific/Auckland",
];

/// A whole page: `body` is already markup. `langs` are the links to this page in
/// other locales, when it has them.
pub fn document(locale: &str, title: &str, langs: &[(&str, String)], body: &str) -> String {
    let mut out = String::with_capacity(body.len() + 4096);
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"{l}\" dir=\"{d}\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <meta name=\"referrer\" content=\"no-referrer\">\n<meta name=\"robots\" content=\"noindex\">\n\
         <title>{t}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n",
        l = e(locale),
        d = locale::dir(locale),
        t = e(title)
    );
    if !langs.is_empty() {
        out.push_str("<nav class=\"langs\">");
        for (l, href) in langs {
            if *l == locale {
                let _ = write!(
                    out,
                    "<strong lang=\"{l}\" dir=\"{d}\">{n}</strong>",
                    l = e(l),
                    d = locale::dir(l),
                    n = e(locale::autonym(l))
                );
            } else {
                let _ = write!(
                    out,
                    "<a href=\"{h}\" hreflang=\"{l}\" lang=\"{l}\" dir=\"{d}\">{n}</a>",
                    h = e(href),
                    l = e(l),
                    d = locale::dir(l),
                    n = e(locale::autonym(l))
                );
            }
        }
        out.push_str("</nav>\n");
    }
    let _ = write!(
        out,
        "<main>\n<h1>{}</h1>\n{body}</main>\n</body>\n</html>\n",
        e(title)
    );
    out
}

/// A paragraph of localised text.
pub fn para(i18n: &I18n, locale: &str, id: &str) -> String {
    format!("<p>{}</p>\n", e(&i18n.msg(locale, id, &[])))
}

/// A link paragraph.
pub fn link(i18n: &I18n, locale: &str, id: &str, href: &str) -> String {
    format!(
        "<p><a href=\"{}\">{}</a></p>\n",
        e(href),
        e(&i18n.msg(locale, id, &[]))
    )
}

/// A form with only a hidden token and one button, POSTing to `action`.
pub fn button_form(i18n: &I18n, locale: &str, action: &str, token: &str, button: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{a}\">\n<input type=\"hidden\" name=\"t\" value=\"{t}\">\n\
         <input type=\"hidden\" name=\"page_locale\" value=\"{l}\">\n\
         <button type=\"submit\">{b}</button>\n</form>\n",
        a = e(action),
        t = e(token),
        l = e(locale),
        b = e(&i18n.msg(locale, button, &[]))
    )
}

/// What kind of preferences form to draw.
#[derive(Debug, Clone, Copy)]
pub enum FormKind<'a> {
    /// The subscribe page: the address is asked for.
    Subscribe,
    /// The preference page of a known subscriber: the address is shown, the link's
    /// token travels in a hidden field.
    Manage { email: &'a str, token: &'a str },
}

fn errors_for(
    out: &mut String,
    i18n: &I18n,
    locale: &str,
    problems: &[Problem],
    field: Field,
    id: &str,
) {
    let mine: Vec<&Problem> = problems.iter().filter(|p| p.field == field).collect();
    if mine.is_empty() {
        return;
    }
    let _ = write!(
        out,
        "<p class=\"error\" id=\"{id}-error\">{}",
        e(&i18n.msg(locale, field.message_id(), &[]))
    );
    for p in mine {
        if let Some(d) = &p.detail {
            let _ = write!(out, " <span lang=\"en\" dir=\"ltr\">({})</span>", e(d));
        }
    }
    out.push_str("</p>\n");
}

fn invalid(problems: &[Problem], field: Field, id: &str) -> String {
    if problems.iter().any(|p| p.field == field) {
        format!(" aria-invalid=\"true\" aria-describedby=\"{id}-error\"")
    } else {
        String::new()
    }
}

/// The preferences form, filled with `f`, with each problem next to its field.
pub fn prefs_form(
    i18n: &I18n,
    locale: &str,
    channels: &[Channel],
    f: &FormInput,
    problems: &[Problem],
    kind: FormKind<'_>,
) -> String {
    let m = |id: &str| e(&i18n.msg(locale, id, &[]));
    let mut out = String::with_capacity(8192);
    if !problems.is_empty() {
        let _ = writeln!(
            out,
            "<p class=\"error\" role=\"alert\">{}</p>",
            m("pages-error-summary")
        );
    }
    let action = match kind {
        FormKind::Subscribe => "/subscribe",
        FormKind::Manage { .. } => "/subscription",
    };
    let _ = writeln!(
        out,
        "<form method=\"post\" action=\"{action}\">\n<input type=\"hidden\" name=\"page_locale\" value=\"{}\">",
        e(locale)
    );
    match kind {
        FormKind::Subscribe => {
            let _ = writeln!(
                out,
                "<label class=\"field\"><span>{}</span>\n<input type=\"email\" name=\"email\" id=\"email\" dir=\"ltr\" \
                 required autocomplete=\"email\" maxlength=\"254\" value=\"{}\"{}></label>",
                m("pages-field-email"),
                e(&f.email),
                invalid(problems, Field::Email, "email")
            );
            errors_for(&mut out, i18n, locale, problems, Field::Email, "email");
        }
        FormKind::Manage { email, token } => {
            let _ = writeln!(
                out,
                "<input type=\"hidden\" name=\"t\" value=\"{}\">\n<div class=\"field\"><span>{}</span>\
                 <span><bdi dir=\"ltr\">{}</bdi></span></div>",
                e(token),
                m("pages-field-email"),
                e(email)
            );
        }
    }
    let _ = writeln!(
        out,
        "<label class=\"field\"><span>{}</span>\n<input type=\"text\" name=\"name\" autocomplete=\"name\" \
         maxlength=\"120\" value=\"{}\"></label>",
        m("pages-field-name"),
        e(&f.name)
    );
    // Language.
    let _ = writeln!(
        out,
        "<label class=\"field\"><span>{}</span>\n<select name=\"locale\"{}>",
        m("pages-field-locale"),
        invalid(problems, Field::Locale, "locale")
    );
    for l in LOCALES {
        let _ = writeln!(
            out,
            "<option value=\"{t}\" lang=\"{t}\"{s}>{n}</option>",
            t = e(l.tag),
            s = if f.locale == l.tag { " selected" } else { "" },
            n = e(l.autonym)
        );
    }
    out.push_str("</select></label>\n");
    errors_for(&mut out, i18n, locale, problems, Field::Locale, "locale");
    // Channels.
    let _ = write!(
        out,
        "<fieldset><legend>{}</legend>\n<p class=\"hint\">{}</p>\n<div class=\"choices\">",
        m("pages-field-channels"),
        m("pages-field-channels-hint")
    );
    for c in channels {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"channel\" value=\"{v}\"{k}> {t}</label>",
            v = e(&c.id),
            k = checked(f.channels.contains(&c.id)),
            t = e(&i18n.msg(locale, &c.title_msg, &[]))
        );
    }
    out.push_str("</div>\n");
    errors_for(&mut out, i18n, locale, problems, Field::Channel, "channel");
    out.push_str("</fieldset>\n");
    // Topics.
    let _ = write!(
        out,
        "<fieldset><legend>{}</legend>\n<p class=\"hint\">{}</p>\n<div class=\"choices\">",
        m("pages-field-topics"),
        m("pages-field-topics-hint")
    );
    for t in TOPICS {
        let _ = write!(
            out,
            "<label><input type=\"checkbox\" name=\"topic\" value=\"{v}\"{k}> {n}</label>",
            v = e(t),
            k = checked(f.topics.iter().any(|x| x == t)),
            n = e(&i18n.topic(locale, t))
        );
    }
    out.push_str("</div>\n");
    errors_for(&mut out, i18n, locale, problems, Field::Topic, "topic");
    out.push_str("</fieldset>\n");
    // Frequency.
    let _ = write!(
        out,
        "<fieldset><legend>{}</legend>\n<div class=\"choices\">",
        m("pages-field-frequency")
    );
    for fr in ["instant", "daily", "weekly"] {
        let _ = write!(
            out,
            "<label><input type=\"radio\" name=\"frequency\" value=\"{fr}\"{k}> {n}</label>",
            k = checked(f.frequency == fr),
            n = m(&format!("pages-frequency-{fr}"))
        );
    }
    out.push_str("</div>\n");
    errors_for(
        &mut out,
        i18n,
        locale,
        problems,
        Field::Frequency,
        "frequency",
    );
    out.push_str("</fieldset>\n");
    // Time zone, hour, weekday.
    let _ = writeln!(
        out,
        "<label class=\"field\"><span>{}</span>\n<input type=\"text\" name=\"time_zone\" list=\"zones\" dir=\"ltr\" \
         required maxlength=\"64\" value=\"{}\"{}></label>",
        m("pages-field-time-zone"),
        e(&f.time_zone),
        invalid(problems, Field::TimeZone, "time_zone")
    );
    out.push_str("<datalist id=\"zones\">");
    for z in ZONES {
        let _ = write!(out, "<option value=\"{z}\"></option>");
    }
    out.push_str("</datalist>\n");
    errors_for(
        &mut out,
        i18n,
        locale,
        problems,
        Field::TimeZone,
        "time_zone",
    );
    let _ = writeln!(
        out,
        "<label class=\"field\"><span>{}</span>\n<select name=\"hour\"{}>",
        m("pages-field-hour"),
        invalid(problems, Field::Hour, "hour")
    );
    for h in 0..24 {
        let _ = writeln!(
            out,
            "<option value=\"{h}\"{s}>{h:02}:00</option>",
            s = selected(f.hour.trim() == h.to_string())
        );
    }
    out.push_str("</select></label>\n");
    errors_for(&mut out, i18n, locale, problems, Field::Hour, "hour");
    let _ = writeln!(
        out,
        "<label class=\"field\"><span>{}</span>\n<select name=\"weekday\"{}>",
        m("pages-field-weekday"),
        invalid(problems, Field::Weekday, "weekday")
    );
    for d in 1..=7 {
        let _ = writeln!(
            out,
            "<option value=\"{d}\"{s}>{n}</option>",
            s = selected(f.weekday.trim() == d.to_string()),
            n = m(&format!("pages-weekday-{d}"))
        );
    }
    out.push_str("</select></label>\n");
    errors_for(&mut out, i18n, locale, problems, Field::Weekday, "weekday");
    let button = match kind {
        FormKind::Subscribe => {
            let _ = writeln!(out, "<p class=\"consent\">{}</p>", m("pages-consent"));
            "pages-subscribe-button"
        }
        FormKind::Manage { .. } => "pages-preferences-button",
    };
    let _ = writeln!(
        out,
        "<button type=\"submit\">{}</button>\n</form>",
        m(button)
    );
    out
}

fn checked(on: bool) -> &'static str {
    if on { " checked" } else { "" }
}

fn selected(on: bool) -> &'static str {
    if on { " selected" } else { "" }
}
