//! Day separators: a conversation is read day by day, so the first message of each day in the
//! visitor's own time zone gets a heading ("Today", "Yesterday", or the date).

use palisade_protocol::Timestamp;
use wasm_bindgen::JsValue;

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

/// "Today", "Yesterday", or the date ("3 March", with the year when it is not this year).
pub fn heading(day: Day) -> String {
    let now = js_sys::Date::new_0();
    let today = day_of_date(&now);
    // Noon, so that a daylight-saving change cannot move "a day ago" onto another date.
    let yesterday = js_sys::Date::new_with_year_month_day_hr_min_sec(
        today.year,
        i32::try_from(today.month).unwrap_or(0),
        i32::try_from(today.date).unwrap_or(1) - 1,
        12,
        0,
        0,
    );
    label(day, today, day_of_date(&yesterday))
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn label(day: Day, today: Day, yesterday: Day) -> String {
    if day == today {
        return "Today".to_owned();
    }
    if day == yesterday {
        return "Yesterday".to_owned();
    }
    let month = usize::try_from(day.month).ok().and_then(|m| MONTHS.get(m)).copied().unwrap_or("");
    if day.year == today.year { format!("{} {month}", day.date) } else { format!("{} {month} {}", day.date, day.year) }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        assert_eq!(label(today, today, yesterday), "Today");
        assert_eq!(label(yesterday, today, yesterday), "Yesterday");
        assert_eq!(label(Day { year: 2026, month: 2, date: 3 }, today, yesterday), "3 March");
        assert_eq!(label(Day { year: 2025, month: 11, date: 31 }, today, yesterday), "31 December 2025");
    }
}
