//! How a message's time is shown: the clock time for today, the date as well for older ones.

use palisade_protocol::Timestamp;
use wasm_bindgen::JsValue;

pub struct TimeLabel {
    /// What the list shows, e.g. `14:05` or `3 Mar 14:05`.
    pub short: String,
    /// For the `datetime` attribute.
    pub iso: String,
    /// For the tooltip.
    pub full: String,
}

const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/// `None` for a time the browser cannot represent: `toISOString` would throw on it.
pub fn label(sent_at: Timestamp) -> Option<TimeLabel> {
    // Millisecond timestamps of real dates are far below 2^53, so the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let date = js_sys::Date::new(&JsValue::from_f64(sent_at.as_millis() as f64));
    if date.get_time().is_nan() {
        return None;
    }
    let now = js_sys::Date::new_0();
    let same_day = date.get_full_year() == now.get_full_year()
        && date.get_month() == now.get_month()
        && date.get_date() == now.get_date();
    let day = (!same_day).then(|| (date.get_date(), date.get_month()));
    Some(TimeLabel {
        short: short(date.get_hours(), date.get_minutes(), day),
        iso: date.to_iso_string().into(),
        full: date.to_string().into(),
    })
}

/// `day` is (day of month, zero-based month) when the message is not from today.
fn short(hours: u32, minutes: u32, day: Option<(u32, u32)>) -> String {
    let clock = format!("{hours:02}:{minutes:02}");
    match day {
        Some((date, month)) => {
            let month = usize::try_from(month).ok().and_then(|m| MONTHS.get(m)).copied().unwrap_or("");
            format!("{date} {month} {clock}")
        }
        None => clock,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_labels() {
        assert_eq!(short(9, 5, None), "09:05");
        assert_eq!(short(23, 59, Some((3, 2))), "3 Mar 23:59");
    }
}
