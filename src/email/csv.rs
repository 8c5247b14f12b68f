//! The audience as CSV. Subscribers confirmed elsewhere come in with
//! `email,name,locale,channels,topics,frequency,time_zone,hour,weekday`.
//!
//! Friendship organisations go in and out one row per contact, the
//! organisation's columns repeated on each of its rows:
//!
//! ```text
//! org_id,names,country,city,partner_since,channels,topics,frequency,time_zone,hour,weekday,contact_name,contact_email,contact_locale,contact_role
//! qld,en=Queensland Government;zh-Hans=昆士兰州政府,AU,Brisbane,2002,,education;new-energy,weekly,Australia/Brisbane,9,1,Ann Lee,ann@example.org,en,Trade office
//! ```
//!
//! `names` is `locale=name` pairs separated by `;`; `channels` and `topics` are
//! `;`-separated (empty: all). A bad row is reported with its line number and reason
//! and skipped; the good rows are imported.

use crate::app::App;
use crate::email::schedule::{Cadence, Frequency};
use crate::store::{ACTIVE, Consent, Contact, Organisation, Subscriber};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::Path;

pub const HEADER: [&str; 15] = [
    "org_id",
    "names",
    "country",
    "city",
    "partner_since",
    "channels",
    "topics",
    "frequency",
    "time_zone",
    "hour",
    "weekday",
    "contact_name",
    "contact_email",
    "contact_locale",
    "contact_role",
];

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportReport {
    pub rows: usize,
    pub organisations: usize,
    pub contacts: usize,
    /// `(line, reason)` of every refused row.
    pub errors: Vec<(u64, String)>,
}

/// One parsed row.
#[derive(Debug, Clone)]
struct Row {
    org: Organisation,
    contact_name: String,
    email: String,
    locale: String,
    role: String,
}

fn list(s: &str) -> Vec<String> {
    s.split(';')
        .map(str::trim)
        .filter(|x| !x.is_empty())
        .map(str::to_owned)
        .collect()
}

fn parse_row(app: &App, rec: &csv::StringRecord) -> Result<Row, String> {
    let get = |i: usize| rec.get(i).unwrap_or("").trim();
    let id = get(0);
    if id.is_empty()
        || !id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        return Err(format!("org_id: {id:?} must be letters, digits, - or _"));
    }
    let mut names = BTreeMap::new();
    for pair in list(get(1)) {
        let (l, n) = pair
            .split_once('=')
            .ok_or_else(|| format!("names: {pair:?} is not locale=name"))?;
        let l = l.trim();
        if !crate::locale::is_supported(l) {
            return Err(format!("names: unknown locale {l:?}"));
        }
        names.insert(l.to_owned(), n.trim().to_owned());
    }
    if names.is_empty() {
        return Err("names: at least one locale=name is required".into());
    }
    let country = get(2).to_ascii_uppercase();
    if country.len() != 2 || !country.chars().all(|c| c.is_ascii_uppercase()) {
        return Err(format!("country: {:?} is not an ISO 3166 code", get(2)));
    }
    let channels = list(get(5));
    let known = app.channels();
    if let Some(c) = channels.iter().find(|c| !known.iter().any(|k| &k.id == *c)) {
        return Err(format!("channels: no channel {c:?}"));
    }
    let frequency = Frequency::parse(get(7))
        .ok_or_else(|| format!("frequency: {:?} is not instant, daily or weekly", get(7)))?;
    let num = |i: usize, name: &str, default: u32| -> Result<u32, String> {
        let v = get(i);
        if v.is_empty() {
            return Ok(default);
        }
        v.parse()
            .map_err(|_| format!("{name}: {v:?} is not a number"))
    };
    let cadence = Cadence {
        frequency,
        time_zone: if get(8).is_empty() {
            "UTC".into()
        } else {
            get(8).into()
        },
        hour: num(9, "hour", 8)?,
        weekday: num(10, "weekday", 1)?,
    };
    cadence.check()?;
    let email =
        crate::email::message::normalized(get(12)).map_err(|e| format!("contact_email: {e}"))?;
    let locale = get(13);
    if !crate::locale::is_supported(locale) {
        return Err(format!("contact_locale: unknown locale {locale:?}"));
    }
    let name = get(11);
    if name.is_empty() || name.chars().any(char::is_control) {
        return Err("contact_name: required, without control characters".into());
    }
    let now = app.now();
    Ok(Row {
        org: Organisation {
            id: id.to_owned(),
            names,
            country,
            city: get(3).to_owned(),
            partner_since: Some(get(4).to_owned()).filter(|s| !s.is_empty()),
            channels,
            topics: list(get(6)),
            cadence,
            created_at: now,
            updated_at: now,
        },
        contact_name: name.to_owned(),
        email,
        locale: locale.to_owned(),
        role: get(14).to_owned(),
    })
}

/// Imports organisations and contacts from CSV. `progress` is called with the bytes
/// read so far after each row.
/// New contacts' digests start with what goes live after `since`.
pub async fn import_organisations(
    app: &App,
    input: impl Read,
    since: chrono::DateTime<chrono::Utc>,
    mut progress: impl FnMut(u64),
) -> Result<ImportReport> {
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(input);
    let header = rdr.headers().context("reading the CSV header")?.clone();
    let want: Vec<&str> = HEADER.to_vec();
    let got: Vec<&str> = header.iter().collect();
    if got != want {
        anyhow::bail!(
            "line 1: the header must be exactly:\n{}\n(got {})",
            HEADER.join(","),
            got.join(",")
        );
    }
    let mut report = ImportReport::default();
    let mut orgs_done: BTreeMap<String, Organisation> = BTreeMap::new();
    let now = app.now();
    let mut rec = csv::StringRecord::new();
    loop {
        let line = rdr.position().line() + 1;
        match rdr.read_record(&mut rec) {
            Ok(false) => break,
            Ok(true) => {}
            Err(e) => {
                report.errors.push((line, format!("unreadable: {e}")));
                continue;
            }
        }
        report.rows += 1;
        let line = rec.position().map_or(line, |p| p.line());
        progress(rdr.position().byte());
        if rec.len() != HEADER.len() {
            report.errors.push((
                line,
                format!("{} fields, expected {}", rec.len(), HEADER.len()),
            ));
            continue;
        }
        let row = match parse_row(app, &rec) {
            Ok(r) => r,
            Err(e) => {
                report.errors.push((line, e));
                continue;
            }
        };
        if let Some(prev) = orgs_done.get(&row.org.id) {
            if prev.names != row.org.names || prev.cadence != row.org.cadence {
                report.errors.push((
                    line,
                    format!(
                        "org_id {}: organisation columns differ from its first row",
                        row.org.id
                    ),
                ));
                continue;
            }
        } else {
            let mut org = row.org.clone();
            if let Some(existing) = app.store.organisation(&org.id).await? {
                org.created_at = existing.created_at;
            }
            app.store.put_organisation(&org).await?;
            orgs_done.insert(org.id.clone(), org);
            report.organisations += 1;
        }
        let org = &orgs_done[&row.org.id];
        let contact = Contact {
            id: uuid::Uuid::new_v4().simple().to_string(),
            handle: crate::email::token::new_handle(),
            org_id: org.id.clone(),
            name: row.contact_name,
            email: row.email,
            locale: row.locale,
            role: row.role,
            state: ACTIVE.into(),
            since,
            next_due: org.cadence.next_slot(now).map(|(t, _)| t),
        };
        app.store.put_contact(&contact).await?;
        report.contacts += 1;
    }
    Ok(report)
}

/// Writes every organisation and contact as CSV (the import format).
pub async fn export_organisations(app: &App, out: impl Write) -> Result<usize> {
    let mut w = csv::Writer::from_writer(out);
    w.write_record(HEADER)?;
    let mut n = 0;
    for o in app.store.organisations().await? {
        let names = o
            .names
            .iter()
            .map(|(l, n)| format!("{l}={n}"))
            .collect::<Vec<_>>()
            .join(";");
        for c in app.store.contacts(&o.id).await? {
            w.write_record([
                o.id.as_str(),
                &names,
                &o.country,
                &o.city,
                o.partner_since.as_deref().unwrap_or(""),
                &o.channels.join(";"),
                &o.topics.join(";"),
                o.cadence.frequency.as_str(),
                &o.cadence.time_zone,
                &o.cadence.hour.to_string(),
                &o.cadence.weekday.to_string(),
                &c.name,
                &c.email,
                &c.locale,
                &c.role,
            ])?;
            n += 1;
        }
    }
    w.flush()?;
    Ok(n)
}

/// Imports active subscribers from CSV (`email,name,locale,channels,topics,frequency,
/// time_zone,hour,weekday`), recording consent as `import` with the file name: for
/// moving a list that was confirmed elsewhere. Their digests start after `since`.
/// Returns how many were new and the refused rows as `(line, reason)`.
pub async fn import_subscribers(
    app: &App,
    path: &Path,
    since: DateTime<Utc>,
) -> Result<(usize, Vec<(usize, String)>)> {
    let mut rdr = csv::Reader::from_path(path).with_context(|| path.display().to_string())?;
    let now = app.now();
    let mut errors = Vec::new();
    let mut batch = Vec::new();
    let consent = Consent {
        subscriber_id: String::new(),
        action: "import".into(),
        at: now,
        ip: None,
        page_locale: None,
        text_version: Some(format!("import:{}", path.display())),
    };
    let mut n = 0;
    for (i, rec) in rdr.records().enumerate() {
        let line = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push((line, format!("unreadable: {e}")));
                continue;
            }
        };
        match parse_subscriber(&rec, now, since) {
            Ok(s) => batch.push(s),
            Err(e) => errors.push((line, e)),
        }
        if batch.len() >= 5000 {
            n += app.store.import_subscribers(&batch, &consent).await?;
            batch.clear();
        }
    }
    n += app.store.import_subscribers(&batch, &consent).await?;
    Ok((n, errors))
}

fn parse_subscriber(
    rec: &csv::StringRecord,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
) -> Result<Subscriber, String> {
    let get = |i: usize| rec.get(i).unwrap_or("").trim();
    let list = |s: &str| -> Vec<String> {
        s.split(';')
            .filter(|x| !x.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let cadence = Cadence {
        frequency: Frequency::parse(get(5))
            .ok_or_else(|| format!("frequency: {:?} is not instant, daily or weekly", get(5)))?,
        time_zone: get(6).into(),
        hour: get(7).parse().map_err(|_| format!("hour: {:?}", get(7)))?,
        weekday: get(8).parse().unwrap_or(1),
    };
    cadence.check()?;
    let email = crate::email::message::normalized(get(0)).map_err(|e| format!("email: {e}"))?;
    if !crate::locale::is_supported(get(2)) {
        return Err(format!("locale: unknown locale {:?}", get(2)));
    }
    Ok(Subscriber {
        id: uuid::Uuid::new_v4().simple().to_string(),
        handle: crate::email::token::new_handle(),
        email,
        name: Some(get(1).to_owned()).filter(|s| !s.is_empty()),
        locale: get(2).into(),
        channels: list(get(3)),
        topics: list(get(4)),
        next_due: cadence.next_slot(now).map(|(t, _)| t),
        cadence,
        state: ACTIVE.into(),
        since,
        created_at: now,
        updated_at: now,
        confirmed_at: Some(now),
        ended_at: None,
    })
}
