//! SQL of the email audience: subscribers and their consent records, friendship
//! organisations and their contacts, suppressions, deliveries and rate counters.

use super::Store;
use crate::clock::{from_millis, to_millis};
use crate::email::schedule::{Cadence, Frequency};
use anyhow::{Context, Result};
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::{BTreeMap, HashMap};

/// `pending` (waiting for confirmation), `active`, `unsubscribed` or `bounced`.
pub const ACTIVE: &str = "active";
pub const PENDING: &str = "pending";
pub const UNSUBSCRIBED: &str = "unsubscribed";
pub const BOUNCED: &str = "bounced";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Subscriber {
    pub id: String,
    pub handle: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: String,
    /// Channel ids; empty means every channel.
    pub channels: Vec<String>,
    /// Topics; empty means every topic.
    pub topics: Vec<String>,
    pub cadence: Cadence,
    pub state: String,
    pub since: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub confirmed_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
}

/// One line of a subscriber's consent record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Consent {
    pub subscriber_id: String,
    /// `subscribe`, `confirm`, `preferences`, `unsubscribe`, `one-click`, `import`.
    pub action: String,
    pub at: DateTime<Utc>,
    pub ip: Option<String>,
    pub page_locale: Option<String>,
    pub text_version: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organisation {
    pub id: String,
    /// Name per locale.
    pub names: BTreeMap<String, String>,
    /// ISO 3166 country code.
    pub country: String,
    pub city: String,
    pub partner_since: Option<String>,
    pub channels: Vec<String>,
    pub topics: Vec<String>,
    pub cadence: Cadence,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Organisation {
    /// The name in `locale`, else in English, else any.
    pub fn name_in(&self, locale: &str) -> String {
        self.names
            .get(locale)
            .or_else(|| self.names.get("en"))
            .or_else(|| self.names.values().next())
            .cloned()
            .unwrap_or_else(|| self.id.clone())
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub id: String,
    pub handle: String,
    pub org_id: String,
    pub name: String,
    pub email: String,
    pub locale: String,
    pub role: String,
    pub state: String,
    pub since: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
}

/// Whoever a digest goes to: a subscriber (`s:<id>`) or an organisation's contact
/// (`c:<id>`), with everything the digest needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub key: String,
    pub handle: String,
    pub email: String,
    pub name: Option<String>,
    pub locale: String,
    pub channels: Vec<String>,
    pub topics: Vec<String>,
    pub cadence: Cadence,
    pub state: String,
    pub since: DateTime<Utc>,
    pub next_due: Option<DateTime<Utc>>,
    pub organisation: Option<Organisation>,
}

impl Recipient {
    pub fn is_subscriber(&self) -> bool {
        self.key.starts_with("s:")
    }
    fn table(&self) -> &'static str {
        if self.is_subscriber() {
            "subscribers"
        } else {
            "contacts"
        }
    }
    fn id(&self) -> &str {
        &self.key[2..]
    }
}

/// What decides whether an email job may send.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendState {
    /// Why the address is suppressed, if it is.
    pub suppressed: Option<String>,
    /// The state of the delivery already recorded for this job, if any.
    pub previous: Option<String>,
    /// Attempts recorded so far.
    pub attempts: i64,
}

/// One email job's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub job_key: String,
    pub recipient: String,
    pub email: String,
    /// The message's locale (the recipient's).
    pub locale: String,
    /// `digest` or `confirmation`.
    pub kind: String,
    pub period: String,
    /// `sent`, `retrying`, `failed`, `bounced`, `skipped`, `empty`.
    pub state: String,
    pub message_id: Option<String>,
    pub articles: Vec<String>,
    pub reply: Option<String>,
    pub last_error: Option<String>,
    pub attempts: i64,
    pub updated_at: DateTime<Utc>,
}

fn json_list(v: &[String]) -> String {
    serde_json::to_string(v).unwrap_or_else(|_| "[]".into())
}

fn parse_list(s: &str) -> Vec<String> {
    serde_json::from_str(s).unwrap_or_default()
}

fn opt_time(r: &AnyRow, col: &str) -> Result<Option<DateTime<Utc>>> {
    let v: Option<i64> = r.try_get(col)?;
    Ok(v.map(from_millis))
}

fn cadence(r: &AnyRow) -> Result<Cadence> {
    let f: String = r.try_get("frequency")?;
    let hour: i64 = r.try_get("hour")?;
    let weekday: i64 = r.try_get("weekday")?;
    Ok(Cadence {
        frequency: Frequency::parse(&f).unwrap_or_default(),
        time_zone: r.try_get("time_zone")?,
        hour: u32::try_from(hour).unwrap_or(0),
        weekday: u32::try_from(weekday).unwrap_or(1),
    })
}

const SUBSCRIBER_COLUMNS: &str = "id, handle, email, name, locale, channels, topics, frequency, time_zone, hour, \
     weekday, state, since, next_due, created_at, updated_at, confirmed_at, ended_at";

type AnyQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

/// Binds a subscriber's fields in [`SUBSCRIBER_COLUMNS`] order.
fn bind_subscriber<'q>(q: AnyQuery<'q>, s: &Subscriber) -> AnyQuery<'q> {
    q.bind(&s.id)
        .bind(&s.handle)
        .bind(&s.email)
        .bind(&s.name)
        .bind(&s.locale)
        .bind(json_list(&s.channels))
        .bind(json_list(&s.topics))
        .bind(s.cadence.frequency.as_str())
        .bind(&s.cadence.time_zone)
        .bind(i64::from(s.cadence.hour))
        .bind(i64::from(s.cadence.weekday))
        .bind(&s.state)
        .bind(to_millis(s.since))
        .bind(s.next_due.map(to_millis))
        .bind(to_millis(s.created_at))
        .bind(to_millis(s.updated_at))
        .bind(s.confirmed_at.map(to_millis))
        .bind(s.ended_at.map(to_millis))
}

fn row_to_subscriber(r: &AnyRow) -> Result<Subscriber> {
    Ok(Subscriber {
        id: r.try_get("id")?,
        handle: r.try_get("handle")?,
        email: r.try_get("email")?,
        name: r.try_get("name")?,
        locale: r.try_get("locale")?,
        channels: parse_list(&r.try_get::<String, _>("channels")?),
        topics: parse_list(&r.try_get::<String, _>("topics")?),
        cadence: cadence(r)?,
        state: r.try_get("state")?,
        since: from_millis(r.try_get("since")?),
        next_due: opt_time(r, "next_due")?,
        created_at: from_millis(r.try_get("created_at")?),
        updated_at: from_millis(r.try_get("updated_at")?),
        confirmed_at: opt_time(r, "confirmed_at")?,
        ended_at: opt_time(r, "ended_at")?,
    })
}

const ORG_COLUMNS: &str = "id, names, country, city, partner_since, channels, topics, frequency, time_zone, hour, \
     weekday, created_at, updated_at";

fn row_to_org(r: &AnyRow) -> Result<Organisation> {
    Ok(Organisation {
        id: r.try_get("id")?,
        names: serde_json::from_str(&r.try_get::<String, _>("names")?).unwrap_or_default(),
        country: r.try_get("country")?,
        city: r.try_get("city")?,
        partner_since: r.try_get("partner_since")?,
        channels: parse_list(&r.try_get::<String, _>("channels")?),
        topics: parse_list(&r.try_get::<String, _>("topics")?),
        cadence: cadence(r)?,
        created_at: from_millis(r.try_get("created_at")?),
        updated_at: from_millis(r.try_get("updated_at")?),
    })
}

const CONTACT_COLUMNS: &str =
    "id, handle, org_id, name, email, locale, role, state, since, next_due";

/// The columns [`row_to_send_state`] reads, for a recipient in `table` and the job
/// key in the SQL expression `job_key`.
fn send_state_columns(table: &str, job_key: &str) -> String {
    format!(
        "(SELECT reason FROM suppressions WHERE suppressions.email = {table}.email) AS send_suppressed, \
         (SELECT state FROM deliveries WHERE job_key = {job_key}) AS send_previous, \
         (SELECT attempts FROM deliveries WHERE job_key = {job_key}) AS send_attempts"
    )
}

fn row_to_send_state(r: &AnyRow) -> Result<SendState> {
    Ok(SendState {
        suppressed: r.try_get("send_suppressed")?,
        previous: r.try_get("send_previous")?,
        attempts: r.try_get::<Option<i64>, _>("send_attempts")?.unwrap_or(0),
    })
}

fn row_to_contact(r: &AnyRow) -> Result<Contact> {
    Ok(Contact {
        id: r.try_get("id")?,
        handle: r.try_get("handle")?,
        org_id: r.try_get("org_id")?,
        name: r.try_get("name")?,
        email: r.try_get("email")?,
        locale: r.try_get("locale")?,
        role: r.try_get("role")?,
        state: r.try_get("state")?,
        since: from_millis(r.try_get("since")?),
        next_due: opt_time(r, "next_due")?,
    })
}

const DELIVERY_COLUMNS: &str = "job_key, recipient, email, locale, kind, period, state, message_id, articles, reply, \
     last_error, attempts, updated_at";

/// Binds a delivery's values in [`DELIVERY_COLUMNS`] order.
fn bind_delivery<'q>(q: AnyQuery<'q>, d: &'q Delivery) -> AnyQuery<'q> {
    q.bind(&d.job_key)
        .bind(&d.recipient)
        .bind(&d.email)
        .bind(&d.locale)
        .bind(&d.kind)
        .bind(&d.period)
        .bind(&d.state)
        .bind(&d.message_id)
        .bind(json_list(&d.articles))
        .bind(&d.reply)
        .bind(&d.last_error)
        .bind(d.attempts)
        .bind(to_millis(d.updated_at))
}

fn row_to_delivery(r: &AnyRow) -> Result<Delivery> {
    Ok(Delivery {
        job_key: r.try_get("job_key")?,
        recipient: r.try_get("recipient")?,
        email: r.try_get("email")?,
        locale: r.try_get("locale")?,
        kind: r.try_get("kind")?,
        period: r.try_get("period")?,
        state: r.try_get("state")?,
        message_id: r.try_get("message_id")?,
        articles: parse_list(&r.try_get::<String, _>("articles")?),
        reply: r.try_get("reply")?,
        last_error: r.try_get("last_error")?,
        attempts: r.try_get("attempts")?,
        updated_at: from_millis(r.try_get("updated_at")?),
    })
}

impl Subscriber {
    pub fn recipient(&self) -> Recipient {
        Recipient {
            key: format!("s:{}", self.id),
            handle: self.handle.clone(),
            email: self.email.clone(),
            name: self.name.clone(),
            locale: self.locale.clone(),
            channels: self.channels.clone(),
            topics: self.topics.clone(),
            cadence: self.cadence.clone(),
            state: self.state.clone(),
            since: self.since,
            next_due: self.next_due,
            organisation: None,
        }
    }
}

impl Contact {
    pub fn recipient(&self, org: &Organisation) -> Recipient {
        Recipient {
            key: format!("c:{}", self.id),
            handle: self.handle.clone(),
            email: self.email.clone(),
            name: Some(self.name.clone()),
            locale: self.locale.clone(),
            channels: org.channels.clone(),
            topics: org.topics.clone(),
            cadence: org.cadence.clone(),
            state: self.state.clone(),
            since: self.since,
            next_due: self.next_due,
            organisation: Some(org.clone()),
        }
    }
}

impl Store {
    // ---- subscribers

    /// Inserts a subscriber, or when the address is known, returns the stored one
    /// unchanged (`false`).
    pub async fn insert_subscriber(&self, s: &Subscriber) -> Result<(Subscriber, bool)> {
        let sql = format!(
            "INSERT INTO subscribers ({SUBSCRIBER_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (email) DO NOTHING"
        );
        let done = bind_subscriber(sqlx::query(sqlx::AssertSqlSafe(sql)), s)
            .execute(&self.pool)
            .await?;
        let stored = self
            .subscriber_by_email(&s.email)
            .await?
            .context("subscriber vanished after insert")?;
        Ok((stored, done.rows_affected() == 1))
    }

    /// Inserts many subscribers and their consent lines in one transaction; known
    /// addresses are left as they are. Returns how many were new.
    pub async fn import_subscribers(
        &self,
        subs: &[Subscriber],
        consent: &Consent,
    ) -> Result<usize> {
        let mut tx = self.pool.begin().await?;
        let mut n = 0;
        let sql = format!(
            "INSERT INTO subscribers ({SUBSCRIBER_COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18) \
             ON CONFLICT (email) DO NOTHING"
        );
        for s in subs {
            let done = bind_subscriber(sqlx::query(sqlx::AssertSqlSafe(sql.clone())), s)
                .execute(&mut *tx)
                .await?;
            if done.rows_affected() == 1 {
                n += 1;
                sqlx::query(
                    "INSERT INTO consents (subscriber_id, action, at, ip, page_locale, text_version) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
                )
                .bind(&s.id)
                .bind(&consent.action)
                .bind(to_millis(consent.at))
                .bind(&consent.ip)
                .bind(&consent.page_locale)
                .bind(&consent.text_version)
                .execute(&mut *tx)
                .await?;
            }
        }
        tx.commit().await?;
        Ok(n)
    }

    async fn subscriber_where(&self, cond: &str, arg: &str) -> Result<Option<Subscriber>> {
        let sql = format!("SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE {cond}");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_subscriber)
            .transpose()
    }

    pub async fn subscriber(&self, id: &str) -> Result<Option<Subscriber>> {
        self.subscriber_where("id = $1", id).await
    }
    pub async fn subscriber_by_email(&self, email: &str) -> Result<Option<Subscriber>> {
        self.subscriber_where("email = $1", email).await
    }
    pub async fn subscriber_by_handle(&self, handle: &str) -> Result<Option<Subscriber>> {
        self.subscriber_where("handle = $1", handle).await
    }

    pub async fn subscribers(&self, limit: i64) -> Result<Vec<Subscriber>> {
        let sql = format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers ORDER BY created_at, id LIMIT $1"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_subscriber).collect()
    }

    /// One page of subscribers in creation order, of one state when given.
    pub async fn subscribers_page(
        &self,
        state: Option<&str>,
        limit: i64,
        offset: i64,
    ) -> Result<Vec<Subscriber>> {
        let (cond, arg) = match state {
            Some(s) => ("state = $1", s),
            None => ("$1 = $1", ""),
        };
        let sql = format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE {cond} \
             ORDER BY created_at, id LIMIT $2 OFFSET $3"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .bind(limit)
            .bind(offset)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_subscriber).collect()
    }

    /// Writes everything a subscriber can change (preferences, state, times).
    pub async fn update_subscriber(&self, s: &Subscriber) -> Result<()> {
        sqlx::query(
            "UPDATE subscribers SET name = $2, locale = $3, channels = $4, topics = $5, frequency = $6, \
             time_zone = $7, hour = $8, weekday = $9, state = $10, since = $11, next_due = $12, \
             updated_at = $13, confirmed_at = $14, ended_at = $15 WHERE id = $1",
        )
        .bind(&s.id)
        .bind(&s.name)
        .bind(&s.locale)
        .bind(json_list(&s.channels))
        .bind(json_list(&s.topics))
        .bind(s.cadence.frequency.as_str())
        .bind(&s.cadence.time_zone)
        .bind(i64::from(s.cadence.hour))
        .bind(i64::from(s.cadence.weekday))
        .bind(&s.state)
        .bind(to_millis(s.since))
        .bind(s.next_due.map(to_millis))
        .bind(to_millis(s.updated_at))
        .bind(s.confirmed_at.map(to_millis))
        .bind(s.ended_at.map(to_millis))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn add_consent(&self, c: &Consent) -> Result<()> {
        sqlx::query(
            "INSERT INTO consents (subscriber_id, action, at, ip, page_locale, text_version) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&c.subscriber_id)
        .bind(&c.action)
        .bind(to_millis(c.at))
        .bind(&c.ip)
        .bind(&c.page_locale)
        .bind(&c.text_version)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn consents(&self, subscriber_id: &str) -> Result<Vec<Consent>> {
        let rows = sqlx::query(
            "SELECT subscriber_id, action, at, ip, page_locale, text_version FROM consents \
             WHERE subscriber_id = $1 ORDER BY id",
        )
        .bind(subscriber_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Consent {
                    subscriber_id: r.try_get("subscriber_id")?,
                    action: r.try_get("action")?,
                    at: from_millis(r.try_get("at")?),
                    ip: r.try_get("ip")?,
                    page_locale: r.try_get("page_locale")?,
                    text_version: r.try_get("text_version")?,
                })
            })
            .collect()
    }

    // ---- organisations and contacts

    /// Creates or replaces an organisation (its contacts stay).
    pub async fn put_organisation(&self, o: &Organisation) -> Result<()> {
        let sql = format!(
            "INSERT INTO organisations ({ORG_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (id) DO UPDATE SET names = excluded.names, country = excluded.country, city = excluded.city, \
             partner_since = excluded.partner_since, channels = excluded.channels, topics = excluded.topics, \
             frequency = excluded.frequency, time_zone = excluded.time_zone, hour = excluded.hour, \
             weekday = excluded.weekday, updated_at = excluded.updated_at"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&o.id)
            .bind(serde_json::to_string(&o.names)?)
            .bind(&o.country)
            .bind(&o.city)
            .bind(&o.partner_since)
            .bind(json_list(&o.channels))
            .bind(json_list(&o.topics))
            .bind(o.cadence.frequency.as_str())
            .bind(&o.cadence.time_zone)
            .bind(i64::from(o.cadence.hour))
            .bind(i64::from(o.cadence.weekday))
            .bind(to_millis(o.created_at))
            .bind(to_millis(o.updated_at))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub async fn organisation(&self, id: &str) -> Result<Option<Organisation>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organisations WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_org)
            .transpose()
    }

    pub async fn organisations(&self) -> Result<Vec<Organisation>> {
        let sql = format!("SELECT {ORG_COLUMNS} FROM organisations ORDER BY id");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_org).collect()
    }

    /// Deletes an organisation and its contacts.
    pub async fn delete_organisation(&self, id: &str) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM contacts WHERE org_id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        let n = sqlx::query("DELETE FROM organisations WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        tx.commit().await?;
        Ok(n > 0)
    }

    /// Creates a contact or updates the one with the same organisation and address
    /// (name, locale, role); its state and schedule stay. Returns the stored contact.
    pub async fn put_contact(&self, c: &Contact) -> Result<Contact> {
        let sql = format!(
            "INSERT INTO contacts ({CONTACT_COLUMNS}, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (org_id, email) DO UPDATE SET name = excluded.name, locale = excluded.locale, \
             role = excluded.role, updated_at = excluded.updated_at"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&c.id)
            .bind(&c.handle)
            .bind(&c.org_id)
            .bind(&c.name)
            .bind(&c.email)
            .bind(&c.locale)
            .bind(&c.role)
            .bind(&c.state)
            .bind(to_millis(c.since))
            .bind(c.next_due.map(to_millis))
            .bind(to_millis(c.since))
            .execute(&self.pool)
            .await?;
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE org_id = $1 AND email = $2");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(&c.org_id)
            .bind(&c.email)
            .fetch_one(&self.pool)
            .await?;
        row_to_contact(&row)
    }

    pub async fn contacts(&self, org_id: &str) -> Result<Vec<Contact>> {
        let sql =
            format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE org_id = $1 ORDER BY email");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(org_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_contact).collect()
    }

    pub async fn delete_contact(&self, org_id: &str, email: &str) -> Result<bool> {
        Ok(
            sqlx::query("DELETE FROM contacts WHERE org_id = $1 AND email = $2")
                .bind(org_id)
                .bind(email)
                .execute(&self.pool)
                .await?
                .rows_affected()
                > 0,
        )
    }

    async fn contact_where(&self, cond: &str, arg: &str) -> Result<Option<Recipient>> {
        let sql = format!("SELECT {CONTACT_COLUMNS} FROM contacts WHERE {cond}");
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let c = row_to_contact(&row)?;
        let org = self
            .organisation(&c.org_id)
            .await?
            .with_context(|| format!("contact {} belongs to no organisation", c.id))?;
        Ok(Some(c.recipient(&org)))
    }

    // ---- recipients (both kinds)

    /// A recipient by key (`s:<id>` or `c:<id>`).
    pub async fn recipient(&self, key: &str) -> Result<Option<Recipient>> {
        match key.split_once(':') {
            Some(("s", id)) => Ok(self.subscriber(id).await?.map(|s| s.recipient())),
            Some(("c", id)) => self.contact_where("id = $1", id).await,
            _ => Ok(None),
        }
    }

    /// A recipient with what decides whether a send may go ahead, in one query: the
    /// suppression of its address and the delivery already recorded under `job_key`.
    pub async fn send_context(
        &self,
        key: &str,
        job_key: &str,
    ) -> Result<Option<(Recipient, SendState)>> {
        let (columns, table, id) = match key.split_once(':') {
            Some(("s", id)) => (SUBSCRIBER_COLUMNS, "subscribers", id),
            Some(("c", id)) => (CONTACT_COLUMNS, "contacts", id),
            _ => return Ok(None),
        };
        let sql = format!(
            "SELECT {columns}, {} FROM {table} WHERE id = $1",
            send_state_columns(table, "$2")
        );
        let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(job_key)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let state = row_to_send_state(&row)?;
        let recipient = if table == "subscribers" {
            row_to_subscriber(&row)?.recipient()
        } else {
            let c = row_to_contact(&row)?;
            let org = self
                .organisation(&c.org_id)
                .await?
                .with_context(|| format!("contact {} belongs to no organisation", c.id))?;
            c.recipient(&org)
        };
        Ok(Some((recipient, state)))
    }

    /// [`Store::send_context`] for many `(recipient, job key)` pairs at once, in
    /// order: subscribers in one query, organisation contacts (few) one by one.
    pub async fn send_contexts(
        &self,
        wanted: &[(String, String)],
    ) -> Result<Vec<Option<(Recipient, SendState)>>> {
        let mut out: Vec<Option<(Recipient, SendState)>> = vec![None; wanted.len()];
        let mut subscribers: Vec<(usize, &str, &str)> = Vec::new();
        for (i, (key, job_key)) in wanted.iter().enumerate() {
            match key.split_once(':') {
                Some(("s", id)) => subscribers.push((i, id, job_key)),
                _ => out[i] = self.send_context(key, job_key).await?,
            }
        }
        for chunk in subscribers.chunks(256) {
            let values = (0..chunk.len())
                .map(|i| format!("(${}, ${})", 2 * i + 1, 2 * i + 2))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!(
                "WITH wanted (want_id, want_job) AS (VALUES {values}) \
                 SELECT {SUBSCRIBER_COLUMNS}, want_job, {} \
                 FROM wanted JOIN subscribers ON subscribers.id = want_id",
                send_state_columns("subscribers", "want_job")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (_, id, job_key) in chunk {
                q = q.bind(*id).bind(*job_key);
            }
            let rows = q.fetch_all(&self.hot).await?;
            let mut found: HashMap<(String, String), (Recipient, SendState)> = HashMap::new();
            for row in rows {
                let state = row_to_send_state(&row)?;
                let s = row_to_subscriber(&row)?;
                found.insert(
                    (s.id.clone(), row.try_get("want_job")?),
                    (s.recipient(), state),
                );
            }
            for (i, id, job_key) in chunk {
                out[*i] = found
                    .get(&((*id).to_owned(), (*job_key).to_owned()))
                    .cloned();
            }
        }
        Ok(out)
    }

    /// A recipient by the handle its links carry.
    pub async fn recipient_by_handle(&self, handle: &str) -> Result<Option<Recipient>> {
        if let Some(s) = self.subscriber_by_handle(handle).await? {
            return Ok(Some(s.recipient()));
        }
        self.contact_where("handle = $1", handle).await
    }

    /// Every recipient with this address (a person may subscribe and also be an
    /// organisation's contact).
    pub async fn recipients_by_email(&self, email: &str) -> Result<Vec<Recipient>> {
        let mut out: Vec<Recipient> = self
            .subscriber_by_email(email)
            .await?
            .map(|s| s.recipient())
            .into_iter()
            .collect();
        let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM contacts WHERE email = $1")
            .bind(email)
            .fetch_all(&self.pool)
            .await?;
        for id in ids {
            if let Some(r) = self.contact_where("id = $1", &id).await? {
                out.push(r);
            }
        }
        Ok(out)
    }

    /// Active recipients whose daily or weekly digest is due at `now`.
    pub async fn due_recipients(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<Recipient>> {
        self.recipients_matching(
            "state = 'active' AND next_due IS NOT NULL AND next_due <= $1",
            to_millis(now),
            limit,
        )
        .await
    }

    /// Active instant recipients not yet given a digest job for what went live up to
    /// `newest`.
    pub async fn instant_recipients(
        &self,
        newest: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<Recipient>> {
        self.recipients_matching(
            "state = 'active' AND next_due IS NULL AND planned < $1 AND since < $1",
            to_millis(newest),
            limit,
        )
        .await
    }

    async fn recipients_matching(
        &self,
        cond: &str,
        arg: i64,
        limit: i64,
    ) -> Result<Vec<Recipient>> {
        let sql = format!(
            "SELECT {SUBSCRIBER_COLUMNS} FROM subscribers WHERE {cond} AND frequency {} ORDER BY next_due LIMIT $2",
            if cond.contains("next_due IS NULL") {
                "= 'instant'"
            } else {
                "<> 'instant'"
            }
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut out = rows
            .iter()
            .map(|r| row_to_subscriber(r).map(|s| s.recipient()))
            .collect::<Result<Vec<_>>>()?;
        let left = limit - i64::try_from(out.len()).unwrap_or(0);
        if left > 0 {
            let cols = CONTACT_COLUMNS
                .split(", ")
                .map(|c| format!("c.{c}"))
                .collect::<Vec<_>>()
                .join(", ");
            let freq = if cond.contains("next_due IS NULL") {
                "o.frequency = 'instant'"
            } else {
                "o.frequency <> 'instant'"
            };
            let cond = cond
                .replace("state", "c.state")
                .replace("next_due", "c.next_due")
                .replace("planned", "c.planned")
                .replace("since", "c.since");
            let sql = format!(
                "SELECT {cols}, o.id AS oid FROM contacts c JOIN organisations o ON o.id = c.org_id \
                 WHERE {cond} AND {freq} ORDER BY c.next_due LIMIT $2"
            );
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(arg)
                .bind(left)
                .fetch_all(&self.pool)
                .await?;
            let mut orgs: BTreeMap<String, Organisation> = BTreeMap::new();
            for r in &rows {
                let c = row_to_contact(r)?;
                if !orgs.contains_key(&c.org_id)
                    && let Some(o) = self.organisation(&c.org_id).await?
                {
                    orgs.insert(o.id.clone(), o);
                }
                if let Some(o) = orgs.get(&c.org_id) {
                    out.push(c.recipient(o));
                }
            }
        }
        Ok(out)
    }

    /// Records that a digest job was planned: the next daily/weekly time, or for an
    /// instant recipient the newest live time covered. Inside the enqueueing transaction.
    pub async fn set_planned(
        tx: &mut sqlx::AnyConnection,
        r: &Recipient,
        next_due: Option<DateTime<Utc>>,
        planned: DateTime<Utc>,
    ) -> Result<()> {
        let sql = format!(
            "UPDATE {} SET next_due = $2, planned = $3 WHERE id = $1",
            r.table()
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(r.id())
            .bind(next_due.map(to_millis))
            .bind(to_millis(planned))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    /// Sets a recipient's state and schedule (used when a contact or subscriber is
    /// (re)activated, or when its organisation's cadence changes).
    pub async fn set_recipient_schedule(
        &self,
        key: &str,
        state: &str,
        next_due: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let (table, id) = match key.split_once(':') {
            Some(("s", id)) => ("subscribers", id),
            Some(("c", id)) => ("contacts", id),
            _ => anyhow::bail!("no such recipient {key}"),
        };
        let sql =
            format!("UPDATE {table} SET state = $2, next_due = $3, updated_at = $4 WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(state)
            .bind(next_due.map(to_millis))
            .bind(to_millis(now))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// After a digest went out (or had nothing to say): the next one starts at `cutoff`.
    pub async fn advance_since(
        tx: &mut sqlx::AnyConnection,
        key: &str,
        cutoff: DateTime<Utc>,
    ) -> Result<()> {
        let (table, id) = match key.split_once(':') {
            Some(("s", id)) => ("subscribers", id),
            Some(("c", id)) => ("contacts", id),
            _ => anyhow::bail!("no such recipient {key}"),
        };
        let sql = format!("UPDATE {table} SET since = $2 WHERE id = $1 AND since < $2");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(to_millis(cutoff))
            .execute(&mut *tx)
            .await?;
        Ok(())
    }

    // ---- suppressions

    /// Suppresses an address: nothing more is sent to it, and every recipient with it
    /// becomes `bounced` (or `unsubscribed` for a complaint).
    pub async fn suppress(
        &self,
        email: &str,
        reason: &str,
        detail: &str,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO suppressions (email, reason, detail, at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (email) DO UPDATE SET reason = excluded.reason, detail = excluded.detail",
        )
        .bind(email)
        .bind(reason)
        .bind(detail)
        .bind(to_millis(now))
        .execute(&mut *tx)
        .await?;
        for table in ["subscribers", "contacts"] {
            let sql = format!(
                "UPDATE {table} SET state = 'bounced', next_due = NULL, updated_at = $2 \
                 WHERE email = $1 AND state IN ('active', 'pending')"
            );
            sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(email)
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// What a send needs to know in one round trip: why the address is suppressed (if
    /// it is) and the state and attempts of the delivery already recorded for the job.
    pub async fn send_state(&self, email: &str, job_key: &str) -> Result<SendState> {
        let row = sqlx::query(
            "SELECT (SELECT reason FROM suppressions WHERE email = $1) AS reason, \
             (SELECT state FROM deliveries WHERE job_key = $2) AS state, \
             (SELECT attempts FROM deliveries WHERE job_key = $2) AS attempts",
        )
        .bind(email)
        .bind(job_key)
        .fetch_one(&self.pool)
        .await?;
        Ok(SendState {
            suppressed: row.try_get("reason")?,
            previous: row.try_get("state")?,
            attempts: row.try_get::<Option<i64>, _>("attempts")?.unwrap_or(0),
        })
    }

    /// Why an address is suppressed, if it is.
    pub async fn suppression(&self, email: &str) -> Result<Option<String>> {
        Ok(
            sqlx::query_scalar("SELECT reason FROM suppressions WHERE email = $1")
                .bind(email)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    pub async fn unsuppress(&self, email: &str) -> Result<bool> {
        Ok(sqlx::query("DELETE FROM suppressions WHERE email = $1")
            .bind(email)
            .execute(&self.pool)
            .await?
            .rows_affected()
            > 0)
    }

    // ---- deliveries

    pub async fn put_delivery(&self, d: &Delivery) -> Result<()> {
        Self::put_delivery_in(&mut *self.pool.acquire().await?, d).await
    }

    pub async fn put_delivery_in(conn: &mut sqlx::AnyConnection, d: &Delivery) -> Result<()> {
        let sql = format!(
            "INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) \
             ON CONFLICT (job_key) DO UPDATE SET state = excluded.state, \
             message_id = COALESCE(excluded.message_id, deliveries.message_id), articles = excluded.articles, \
             reply = excluded.reply, last_error = excluded.last_error, attempts = excluded.attempts, \
             updated_at = excluded.updated_at"
        );
        bind_delivery(sqlx::query(sqlx::AssertSqlSafe(sql)), d)
            .execute(&mut *conn)
            .await?;
        Ok(())
    }

    /// Records deliveries with the recipients' `since` moved to each one's cutoff, all
    /// in one transaction: a multi-row upsert of the deliveries, then one `UPDATE` per
    /// (table, cutoff). [`crate::store::GroupCommit`] feeds it the sends that finished
    /// while the previous batch was committing.
    pub async fn record_deliveries(&self, batch: &[(Delivery, DateTime<Utc>)]) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        let mut tx = self.hot.begin().await?;
        // 13 parameters a row; SQLite allows 32,766 in one statement.
        for chunk in batch.chunks(512) {
            let mut sql = format!("INSERT INTO deliveries ({DELIVERY_COLUMNS}) VALUES ");
            for i in 0..chunk.len() {
                let b = i * 13;
                if i > 0 {
                    sql.push_str(", ");
                }
                sql.push('(');
                for k in 1..=13 {
                    if k > 1 {
                        sql.push_str(", ");
                    }
                    sql.push_str(&format!("${}", b + k));
                }
                sql.push(')');
            }
            sql.push_str(
                " ON CONFLICT (job_key) DO UPDATE SET state = excluded.state, \
                 message_id = COALESCE(excluded.message_id, deliveries.message_id), articles = excluded.articles, \
                 reply = excluded.reply, last_error = excluded.last_error, attempts = excluded.attempts, \
                 updated_at = excluded.updated_at",
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (d, _) in chunk {
                q = bind_delivery(q, d);
            }
            q.execute(&mut *tx).await?;
        }
        let mut moves: BTreeMap<(&str, i64), Vec<&str>> = BTreeMap::new();
        for (d, cutoff) in batch {
            let (table, id) = match d.recipient.split_once(':') {
                Some(("s", id)) => ("subscribers", id),
                Some(("c", id)) => ("contacts", id),
                _ => anyhow::bail!("no such recipient {}", d.recipient),
            };
            moves
                .entry((table, to_millis(*cutoff)))
                .or_default()
                .push(id);
        }
        for ((table, cutoff), ids) in moves {
            for ids in ids.chunks(1000) {
                let list = (0..ids.len())
                    .map(|i| format!("${}", i + 2))
                    .collect::<Vec<_>>()
                    .join(", ");
                let sql =
                    format!("UPDATE {table} SET since = $1 WHERE since < $1 AND id IN ({list})");
                let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cutoff);
                for id in ids {
                    q = q.bind(*id);
                }
                q.execute(&mut *tx).await?;
            }
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn delivery(&self, job_key: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE job_key = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(job_key)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_delivery)
            .transpose()
    }

    pub async fn delivery_by_message_id(&self, message_id: &str) -> Result<Option<Delivery>> {
        let sql = format!("SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE message_id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(message_id.trim())
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(row_to_delivery)
            .transpose()
    }

    /// Deliveries, newest first; of one recipient when given.
    pub async fn deliveries(&self, recipient: Option<&str>, limit: i64) -> Result<Vec<Delivery>> {
        let (cond, arg) = match recipient {
            Some(r) => ("recipient = $1", r),
            None => ("$1 = $1", ""),
        };
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE {cond} ORDER BY updated_at DESC LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(arg)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_delivery).collect()
    }

    /// The digest deliveries that carried an article, oldest first.
    pub async fn deliveries_of_article(&self, article_id: &str) -> Result<Vec<Delivery>> {
        let sql = format!(
            "SELECT {DELIVERY_COLUMNS} FROM deliveries WHERE kind = 'digest' AND articles LIKE $1 \
             ORDER BY updated_at"
        );
        let pattern = format!("%{}%", serde_json::to_string(article_id)?);
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(pattern)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_delivery).collect()
    }

    /// When messages were accepted by the relay since `since` (for charts).
    pub async fn sent_since(&self, since: DateTime<Utc>) -> Result<Vec<DateTime<Utc>>> {
        let rows: Vec<i64> = sqlx::query_scalar(
            "SELECT updated_at FROM deliveries WHERE state = 'sent' AND updated_at > $1 ORDER BY updated_at",
        )
        .bind(to_millis(since))
        .fetch_all(&self.pool)
        .await?;
        Ok(rows.into_iter().map(from_millis).collect())
    }

    /// Deliveries in each state.
    pub async fn delivery_counts(&self) -> Result<Vec<(String, i64)>> {
        let rows = sqlx::query(
            "SELECT state, COUNT(*) AS n FROM deliveries GROUP BY state ORDER BY state",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get("state")?, r.try_get("n")?)))
            .collect()
    }

    /// Recipients by kind and state: `(kind, state, count)`.
    pub async fn audience_counts(&self) -> Result<Vec<(String, String, i64)>> {
        let mut out = Vec::new();
        for (kind, table) in [("subscriber", "subscribers"), ("contact", "contacts")] {
            let sql =
                format!("SELECT state, COUNT(*) AS n FROM {table} GROUP BY state ORDER BY state");
            for r in sqlx::query(sqlx::AssertSqlSafe(sql))
                .fetch_all(&self.pool)
                .await?
            {
                out.push((kind.to_owned(), r.try_get("state")?, r.try_get("n")?));
            }
        }
        Ok(out)
    }

    // ---- rate limits

    /// Counts an event in `bucket` unless `max` events already happened within
    /// `window` before `now`; returns whether it was allowed. Shared by all replicas.
    pub async fn rate_allow(
        &self,
        bucket: &str,
        now: DateTime<Utc>,
        window: chrono::Duration,
        max: u32,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let from = to_millis(now - window);
        sqlx::query("DELETE FROM rate_events WHERE bucket = $1 AND at <= $2")
            .bind(bucket)
            .bind(from)
            .execute(&mut *tx)
            .await?;
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM rate_events WHERE bucket = $1")
            .bind(bucket)
            .fetch_one(&mut *tx)
            .await?;
        let allowed = n < i64::from(max);
        if allowed {
            sqlx::query("INSERT INTO rate_events (bucket, at) VALUES ($1, $2)")
                .bind(bucket)
                .bind(to_millis(now))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(allowed)
    }
}
