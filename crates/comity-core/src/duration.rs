//! Clock durations as the catalogue writes them: `60d`, `8h`, `5wd` (working days, Monday to Friday).

use std::fmt;
use std::str::FromStr;

use time::{OffsetDateTime, Weekday};

/// A legal period.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClockDuration {
    /// Whole hours.
    Hours(u32),
    /// Calendar days.
    Days(u32),
    /// Working days, Monday to Friday (public holidays are not modelled).
    WorkingDays(u32),
}

/// The text is not a duration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "`{0}` is not a duration: write a whole number followed by `h`, `d` or `wd` (for example `60d`)"
)]
pub struct BadDuration(pub String);

impl FromStr for ClockDuration {
    type Err = BadDuration;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || BadDuration(s.to_owned());
        let split = s.find(|c: char| !c.is_ascii_digit()).ok_or_else(bad)?;
        let (digits, unit) = s.split_at(split);
        let n: u32 = digits.parse().map_err(|_| bad())?;
        if n == 0 || n > 3650 {
            return Err(bad());
        }
        match unit {
            "h" => Ok(Self::Hours(n)),
            "d" => Ok(Self::Days(n)),
            "wd" => Ok(Self::WorkingDays(n)),
            _ => Err(bad()),
        }
    }
}

impl fmt::Display for ClockDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Hours(n) => write!(f, "{n}h"),
            Self::Days(n) => write!(f, "{n}d"),
            Self::WorkingDays(n) => write!(f, "{n}wd"),
        }
    }
}

impl ClockDuration {
    /// The moment this duration after `start` ends.
    pub fn after(self, start: OffsetDateTime) -> OffsetDateTime {
        match self {
            Self::Hours(n) => start + time::Duration::hours(i64::from(n)),
            Self::Days(n) => start + time::Duration::days(i64::from(n)),
            Self::WorkingDays(n) => {
                let mut at = start;
                let mut left = n;
                while left > 0 {
                    at += time::Duration::days(1);
                    if !matches!(at.weekday(), Weekday::Saturday | Weekday::Sunday) {
                        left -= 1;
                    }
                }
                at
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn parses_and_prints() {
        for text in ["8h", "60d", "5wd", "96h"] {
            assert_eq!(text.parse::<ClockDuration>().unwrap().to_string(), text);
        }
        for bad in ["", "d", "0d", "60", "60m", "-1d", "1.5d", "99999d"] {
            assert!(bad.parse::<ClockDuration>().is_err(), "{bad}");
        }
    }

    #[test]
    fn working_days_skip_weekends() {
        // Friday 2026-11-20 + 5 working days = Friday 2026-11-27.
        let friday = datetime!(2026-11-20 10:00 UTC);
        assert_eq!(
            ClockDuration::WorkingDays(5).after(friday),
            datetime!(2026-11-27 10:00 UTC)
        );
        assert_eq!(
            ClockDuration::WorkingDays(1).after(friday),
            datetime!(2026-11-23 10:00 UTC)
        );
        assert_eq!(
            ClockDuration::Hours(8).after(friday),
            datetime!(2026-11-20 18:00 UTC)
        );
    }
}
