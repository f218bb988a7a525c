//! UTC timestamps in the RFC 3339 form that GitHub uses (`2024-05-01T12:00:00Z`).
//!
//! Only what this crate needs: parse GitHub's `committed_at`, write
//! timestamps for the fake API and for PostgreSQL (`timestamptz` accepts the
//! same text), compare and nudge them by a microsecond. A date crate would
//! be overkill for that, and PostgreSQL's own resolution is a microsecond,
//! so that is ours too.

use std::fmt;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const MICROS_PER_SEC: i64 = 1_000_000;
const SECS_PER_DAY: i64 = 86_400;

/// A point in time, in microseconds since the Unix epoch (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp {
    micros: i64,
}

impl Timestamp {
    /// The current wall-clock time.
    pub fn now() -> Self {
        Self::from_system_time(SystemTime::now())
    }

    pub fn from_system_time(time: SystemTime) -> Self {
        let micros = match time.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_micros() as i64,
            Err(before) => -(before.duration().as_micros() as i64),
        };
        Timestamp { micros }
    }

    pub fn to_system_time(self) -> SystemTime {
        if self.micros >= 0 {
            UNIX_EPOCH + Duration::from_micros(self.micros as u64)
        } else {
            UNIX_EPOCH - Duration::from_micros(self.micros.unsigned_abs())
        }
    }

    pub fn from_unix_secs(secs: i64) -> Self {
        Timestamp {
            micros: secs * MICROS_PER_SEC,
        }
    }

    /// Whole seconds since the epoch, rounded down (what `X-RateLimit-Reset` carries).
    pub fn unix_secs(self) -> i64 {
        self.micros.div_euclid(MICROS_PER_SEC)
    }

    /// The next representable instant: used to keep versions of one entity
    /// strictly ordered when GitHub's one-second resolution gives two
    /// revisions the same `committed_at`.
    pub fn next_micro(self) -> Self {
        Timestamp {
            micros: self.micros + 1,
        }
    }

    /// Drops the sub-second part (GitHub reports whole seconds).
    pub fn truncate_to_secs(self) -> Self {
        Self::from_unix_secs(self.unix_secs())
    }

    /// Parses `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)`; `t`/`z` and a
    /// space instead of `T` are accepted too. Fractions beyond microseconds
    /// are cut off.
    pub fn parse_rfc3339(text: &str) -> Option<Self> {
        let b = text.as_bytes();
        if b.len() < 20 {
            return None;
        }
        let num = |range: std::ops::Range<usize>| -> Option<i64> {
            let part = text.get(range)?;
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let (year, month, day) = (num(0..4)?, num(5..7)?, num(8..10)?);
        let (hour, minute, second) = (num(11..13)?, num(14..16)?, num(17..19)?);
        if b[4] != b'-'
            || b[7] != b'-'
            || !matches!(b[10], b'T' | b't' | b' ')
            || b[13] != b':'
            || b[16] != b':'
            || !(1..=12).contains(&month)
            || !(1..=days_in_month(year, month)).contains(&day)
            || hour > 23
            || minute > 59
            || second > 60
        {
            return None;
        }
        let mut pos = 19;
        let mut fraction_micros = 0i64;
        if b.get(pos) == Some(&b'.') {
            pos += 1;
            let start = pos;
            while pos < b.len() && b[pos].is_ascii_digit() {
                if pos - start < 6 {
                    fraction_micros = fraction_micros * 10 + i64::from(b[pos] - b'0');
                }
                pos += 1;
            }
            if pos == start {
                return None;
            }
            for _ in (pos - start)..6 {
                fraction_micros *= 10;
            }
        }
        let offset_secs = match &b[pos..] {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let hours = num(pos + 1..pos + 3)?;
                let minutes = num(pos + 4..pos + 6)?;
                let offset = hours * 3600 + minutes * 60;
                if *sign == b'-' {
                    -offset
                } else {
                    offset
                }
            }
            _ => return None,
        };
        let days = days_from_civil(year, month, day);
        let secs = days * SECS_PER_DAY + hour * 3600 + minute * 60 + second - offset_secs;
        Some(Timestamp {
            micros: secs * MICROS_PER_SEC + fraction_micros,
        })
    }

    /// `YYYY-MM-DDTHH:MM:SSZ`, with `.ffffff` only when there is a
    /// sub-second part (so GitHub-style whole seconds round-trip exactly).
    pub fn to_rfc3339(self) -> String {
        let secs = self.unix_secs();
        let micros = self.micros.rem_euclid(MICROS_PER_SEC);
        let days = secs.div_euclid(SECS_PER_DAY);
        let of_day = secs.rem_euclid(SECS_PER_DAY);
        let (year, month, day) = civil_from_days(days);
        let mut out = format!(
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}",
            of_day / 3600,
            of_day % 3600 / 60,
            of_day % 60
        );
        if micros != 0 {
            out.push_str(&format!(".{micros:06}"));
        }
        out.push('Z');
        out
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

fn is_leap(year: i64) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if is_leap(year) => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
/// `days_from_civil`).
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(days: i64) -> (i64, i64, i64) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_github_timestamps() {
        for text in [
            "1970-01-01T00:00:00Z",
            "2010-04-14T02:15:15Z",
            "2024-02-29T23:59:59Z",
            "2100-03-01T00:00:00.000001Z",
            "1969-12-31T23:59:59.5Z".replace(".5Z", ".500000Z").as_str(),
        ] {
            let ts = Timestamp::parse_rfc3339(text).unwrap();
            assert_eq!(ts.to_rfc3339(), text);
        }
        assert_eq!(
            Timestamp::parse_rfc3339("2010-04-14T02:15:15Z")
                .unwrap()
                .unix_secs(),
            1_271_211_315
        );
    }

    #[test]
    fn honours_offsets_and_rejects_garbage() {
        let utc = Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").unwrap();
        let cest = Timestamp::parse_rfc3339("2024-05-01T14:00:00+02:00").unwrap();
        assert_eq!(utc, cest);
        for bad in [
            "",
            "2024-05-01",
            "2024-13-01T00:00:00Z",
            "2023-02-29T00:00:00Z",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00.Z",
            "2024-05-01X12:00:00Z",
        ] {
            assert!(Timestamp::parse_rfc3339(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn next_micro_orders_after() {
        let ts = Timestamp::parse_rfc3339("2024-05-01T12:00:00Z").unwrap();
        assert!(ts.next_micro() > ts);
        assert_eq!(ts.next_micro().to_rfc3339(), "2024-05-01T12:00:00.000001Z");
    }
}
