//! When digests are due, in the recipient's own time zone.
//!
//! tokio-cron-scheduler only ticks in UTC (its time-zoned jobs freeze the offset at
//! creation and drift across DST). So the scheduler enqueues a sweep every minute and
//! this module decides, with chrono-tz, which local slot has passed: a daily digest is
//! due at the recipient's hour on each local date, a weekly one on their weekday. The
//! period key names the local date (or ISO week), so a day is sent once even when a
//! DST change repeats or skips the hour, and a sweep after downtime finds the missed
//! slot and sends one digest covering everything since the last.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, TimeZone, Utc, Weekday};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    /// As soon as something is published.
    Instant,
    #[default]
    Daily,
    Weekly,
}

impl Frequency {
    pub fn as_str(self) -> &'static str {
        match self {
            Frequency::Instant => "instant",
            Frequency::Daily => "daily",
            Frequency::Weekly => "weekly",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "instant" => Some(Frequency::Instant),
            "daily" => Some(Frequency::Daily),
            "weekly" => Some(Frequency::Weekly),
            _ => None,
        }
    }
}

/// A recipient's cadence: how often, at which local hour, on which weekday
/// (1 = Monday … 7 = Sunday; weekly only), in which IANA time zone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cadence {
    pub frequency: Frequency,
    pub time_zone: String,
    pub hour: u32,
    pub weekday: u32,
}

impl Cadence {
    /// Checks the fields; the error names the field.
    pub fn check(&self) -> Result<(), String> {
        parse_tz(&self.time_zone)
            .ok_or_else(|| format!("time_zone: {:?} is not an IANA time zone", self.time_zone))?;
        if self.hour > 23 {
            return Err(format!("hour: {} is not between 0 and 23", self.hour));
        }
        if !(1..=7).contains(&self.weekday) {
            return Err(format!("weekday: {} is not between 1 and 7", self.weekday));
        }
        Ok(())
    }

    fn tz(&self) -> Tz {
        parse_tz(&self.time_zone).unwrap_or(Tz::UTC)
    }

    /// The first slot strictly after `after`, with its period key. `None` for instant.
    pub fn next_slot(&self, after: DateTime<Utc>) -> Option<(DateTime<Utc>, String)> {
        if self.frequency == Frequency::Instant {
            return None;
        }
        let tz = self.tz();
        let mut date = after.with_timezone(&tz).date_naive() - Duration::days(1);
        for _ in 0..16 {
            if let Some(slot) = self.slot_on(tz, date)
                && slot > after
            {
                return Some((slot, self.period(tz, date)));
            }
            date += Duration::days(1);
        }
        None
    }

    /// The last slot at or before `at`, with its period key. `None` for instant.
    pub fn last_slot(&self, at: DateTime<Utc>) -> Option<(DateTime<Utc>, String)> {
        if self.frequency == Frequency::Instant {
            return None;
        }
        let tz = self.tz();
        let mut date = at.with_timezone(&tz).date_naive() + Duration::days(1);
        for _ in 0..16 {
            if let Some(slot) = self.slot_on(tz, date)
                && slot <= at
            {
                return Some((slot, self.period(tz, date)));
            }
            date -= Duration::days(1);
        }
        None
    }

    /// The UTC instant of the slot on local `date`, if `date` has one. An hour that
    /// DST skips moves to the first valid minute after it; an hour that happens twice
    /// takes the first.
    fn slot_on(&self, tz: Tz, date: NaiveDate) -> Option<DateTime<Utc>> {
        if self.frequency == Frequency::Weekly
            && date.weekday().number_from_monday() != self.weekday
        {
            return None;
        }
        let naive = date.and_hms_opt(self.hour, 0, 0)?;
        for shift in 0..=4 {
            let t = naive + Duration::minutes(30 * shift);
            match tz.from_local_datetime(&t) {
                LocalResult::Single(x) => return Some(x.to_utc()),
                LocalResult::Ambiguous(a, b) => return Some(a.min(b).to_utc()),
                LocalResult::None => {}
            }
        }
        None
    }

    fn period(&self, _tz: Tz, date: NaiveDate) -> String {
        match self.frequency {
            Frequency::Weekly => {
                let w = date.iso_week();
                format!("w{}-W{:02}", w.year(), w.week())
            }
            _ => format!("d{}", date.format("%Y-%m-%d")),
        }
    }
}

pub fn parse_tz(name: &str) -> Option<Tz> {
    name.parse::<Tz>().ok()
}

/// The weekday number (1 = Monday) of a [`Weekday`].
pub fn weekday_number(d: Weekday) -> u32 {
    d.number_from_monday()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn daily(tz: &str, hour: u32) -> Cadence {
        Cadence {
            frequency: Frequency::Daily,
            time_zone: tz.into(),
            hour,
            weekday: 1,
        }
    }

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn daily_slot_is_the_local_hour_across_dst() {
        let c = daily("Europe/Berlin", 8);
        // Winter: UTC+1.
        let (slot, period) = c.next_slot(utc("2026-03-27T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2026-03-28T07:00:00Z"));
        assert_eq!(period, "d2026-03-28");
        // Clocks go forward on 2026-03-29: 08:00 is now UTC+2.
        let (slot, period) = c.next_slot(slot).unwrap();
        assert_eq!(slot, utc("2026-03-29T06:00:00Z"));
        assert_eq!(period, "d2026-03-29");
    }

    #[test]
    fn skipped_and_repeated_hours() {
        // 02:00 does not exist in Berlin on 2026-03-29: the slot moves to 03:00 CEST.
        let c = daily("Europe/Berlin", 2);
        let (slot, _) = c.next_slot(utc("2026-03-28T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2026-03-29T01:00:00Z"));
        // 02:00 happens twice on 2026-10-25: one slot, the first.
        let (slot, period) = c.next_slot(utc("2026-10-24T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2026-10-25T00:00:00Z"));
        let (next, next_period) = c.next_slot(slot).unwrap();
        assert_ne!(period, next_period);
        assert_eq!(next, utc("2026-10-26T01:00:00Z"));
    }

    #[test]
    fn last_slot_catches_up_after_downtime() {
        let c = daily("Asia/Kathmandu", 7);
        // Down from the 20th to the 23rd at 12:00 UTC (17:45 local): the last slot is
        // the 23rd 07:00 local = 01:15 UTC.
        let (slot, period) = c.last_slot(utc("2026-11-23T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2026-11-23T01:15:00Z"));
        assert_eq!(period, "d2026-11-23");
    }

    #[test]
    fn weekly_uses_the_weekday_and_iso_week() {
        let c = Cadence {
            frequency: Frequency::Weekly,
            time_zone: "Australia/Brisbane".into(),
            hour: 9,
            weekday: 1,
        };
        // Saturday 2026-11-28: next Monday is 11-30, 09:00 AEST = 23:00 UTC on the 29th.
        let (slot, period) = c.next_slot(utc("2026-11-28T12:00:00Z")).unwrap();
        assert_eq!(slot, utc("2026-11-29T23:00:00Z"));
        assert_eq!(period, "w2026-W49");
        assert!(c.check().is_ok());
        assert!(
            Cadence {
                hour: 24,
                ..c.clone()
            }
            .check()
            .unwrap_err()
            .starts_with("hour")
        );
    }
}
