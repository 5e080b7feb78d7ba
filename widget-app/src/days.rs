//! Day separators: a conversation is read day by day, so the first message of each day in the
//! visitor's own time zone gets a heading ("Today", "Yesterday", or the date).

use palisade_protocol::Timestamp;
use wasm_bindgen::JsValue;

use crate::i18n::{Strings, t};
use crate::time_label;
use crate::timeline::Row;

/// A calendar day in the visitor's time zone: year, zero-based month, day of the month.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Day {
    pub year: u32,
    pub month: u32,
    pub date: u32,
}

/// `rows`, each with the day to head it with when its day (by `day_of`) differs from the
/// message before it. A message whose day is unknown gets no heading and does not start one.
pub fn with_days(rows: Vec<Row>, day_of: impl Fn(Timestamp) -> Option<Day>) -> Vec<(Row, Option<Day>)> {
    let mut current = None;
    rows.into_iter()
        .map(|row| {
            let day = day_of(row.sent_at).filter(|day| current != Some(*day));
            if day.is_some() {
                current = day;
            }
            (row, day)
        })
        .collect()
}

/// The key of a row in a keyed list: its own, marked when a heading goes before it, so that
/// the row is drawn again when older history takes the heading away from it.
pub fn key((row, day): &(Row, Option<Day>)) -> String {
    if day.is_some() { format!("{}+day", row.key) } else { row.key.clone() }
}

/// The day of `at` in the browser's time zone; `None` for a time it cannot represent.
pub fn local_day(at: Timestamp) -> Option<Day> {
    // Millisecond timestamps of real dates are far below 2^53, so the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&JsValue::from_f64(at.as_millis() as f64));
    (!date.get_time().is_nan()).then(|| day_of_date(&date))
}

fn day_of_date(date: &js_sys::Date) -> Day {
    Day { year: date.get_full_year(), month: date.get_month(), date: date.get_date() }
}

/// "Today", "Yesterday" (in the active locale), or the date as the locale writes it ("3 March",
/// with the year when it is not this year).
pub fn heading(day: Day) -> String {
    let now = js_sys::Date::new_0();
    let today = day_of_date(&now);
    // Noon, so that a daylight-saving change cannot move "a day ago" onto another date.
    let noon = |day: Day, offset: i32| {
        js_sys::Date::new_with_year_month_day_hr_min_sec(
            day.year,
            i32::try_from(day.month).unwrap_or(0),
            i32::try_from(day.date).unwrap_or(1) + offset,
            12,
            0,
            0,
        )
    };
    let yesterday = day_of_date(&noon(today, -1));
    label(day, today, yesterday, t(), |day, with_year| {
        let options: &[(&str, &str)] = if with_year {
            &[("day", "numeric"), ("month", "long"), ("year", "numeric")]
        } else {
            &[("day", "numeric"), ("month", "long")]
        };
        time_label::format(&noon(day, 0), options)
    })
}

/// `date` writes a day, with its year or without.
fn label(day: Day, today: Day, yesterday: Day, t: &Strings, date: impl Fn(Day, bool) -> String) -> String {
    if day == today {
        t.today.to_owned()
    } else if day == yesterday {
        t.yesterday.to_owned()
    } else {
        date(day, day.year != today.year)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::i18n::Locale;
    use crate::timeline::RowStatus;

    fn row(key: &str, at: i64) -> Row {
        Row {
            key: key.to_owned(),
            seq: None,
            id: None,
            client_id: None,
            author: "Ada".into(),
            body: String::new(),
            sent_at: Timestamp(at),
            mine: false,
            edited: false,
            deleted: false,
            status: RowStatus::Stored,
        }
    }

    /// Days of 1,000 ms, so the test does not depend on the time zone it runs in.
    fn day_of(at: Timestamp) -> Option<Day> {
        let n = u32::try_from(at.as_millis()).ok()?;
        Some(Day { year: 2026, month: 0, date: n / 1000 })
    }

    fn shape(items: &[(Row, Option<Day>)]) -> Vec<String> {
        items
            .iter()
            .flat_map(|(row, day)| day.map(|day| format!("day {}", day.date)).into_iter().chain([row.key.clone()]))
            .collect()
    }

    #[test]
    fn a_heading_comes_before_the_first_message_of_each_day() {
        let items = with_days(vec![row("a", 1_100), row("b", 1_900), row("c", 3_000), row("d", 3_500)], day_of);
        assert_eq!(shape(&items), ["day 1", "a", "b", "day 3", "c", "d"]);
        assert_eq!(items.iter().map(key).collect::<Vec<_>>(), ["a+day", "b", "c+day", "d"]);
        assert!(with_days(Vec::new(), day_of).is_empty());
    }

    #[test]
    fn a_message_of_unknown_time_neither_gets_nor_breaks_a_heading() {
        let items = with_days(vec![row("a", 1_100), row("odd", -1), row("b", 1_200)], day_of);
        assert_eq!(shape(&items), ["day 1", "a", "odd", "b"]);
    }

    #[test]
    fn headings_name_today_yesterday_or_the_date() {
        let today = Day { year: 2026, month: 10, date: 29 };
        let yesterday = Day { year: 2026, month: 10, date: 28 };
        // Stands in for `Intl`, which only a browser has.
        let date = |day: Day, with_year: bool| {
            if with_year {
                format!("{}/{}/{}", day.date, day.month + 1, day.year)
            } else {
                format!("{}/{}", day.date, day.month + 1)
            }
        };
        let [en, de, ar] = [Locale::En, Locale::De, Locale::Ar].map(Locale::strings);
        assert_eq!(label(today, today, yesterday, en, date), "Today");
        assert_eq!(label(yesterday, today, yesterday, en, date), "Yesterday");
        assert_eq!(label(today, today, yesterday, de, date), "Heute");
        assert_eq!(label(yesterday, today, yesterday, ar, date), "أمس");
        assert_eq!(label(Day { year: 2026, month: 2, date: 3 }, today, yesterday, de, date), "3/3");
        assert_eq!(label(Day { year: 2025, month: 11, date: 31 }, today, yesterday, en, date), "31/12/2025");
        // The day before yesterday, in the same month and across the turn of a year.
        assert_eq!(label(Day { year: 2026, month: 10, date: 27 }, today, yesterday, en, date), "27/11");
        let new_year = Day { year: 2027, month: 0, date: 1 };
        let eve = Day { year: 2026, month: 11, date: 31 };
        assert_eq!(label(eve, new_year, eve, en, date), "Yesterday");
    }
}
