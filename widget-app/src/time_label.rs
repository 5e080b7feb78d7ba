//! How a message's time is shown: the clock time for today, the date as well for older ones, as
//! the active locale writes them in the visitor's time zone.

use palisade_protocol::Timestamp;
use wasm_bindgen::JsValue;

use crate::i18n;

pub struct TimeLabel {
    /// What the list shows, e.g. `14:05` or `3 Mar, 14:05` (or `٢:٠٥ م` in Arabic).
    pub short: String,
    /// For the `datetime` attribute.
    pub iso: String,
    /// For the tooltip.
    pub full: String,
}

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
    Some(TimeLabel {
        short: format(&date, short_options(same_day)),
        iso: date.to_iso_string().into(),
        full: format(&date, &[("dateStyle", "full"), ("timeStyle", "short")]),
    })
}

/// The clock time, and the day and month unless it is today.
fn short_options(same_day: bool) -> &'static [(&'static str, &'static str)] {
    if same_day {
        &[("hour", "2-digit"), ("minute", "2-digit")]
    } else {
        &[("day", "numeric"), ("month", "short"), ("hour", "2-digit"), ("minute", "2-digit")]
    }
}

/// `date` as `Intl.DateTimeFormat` writes it in the active locale with `options` (option name,
/// value); empty in the unlikely case the browser refuses.
pub fn format(date: &js_sys::Date, options: &[(&str, &str)]) -> String {
    let object = js_sys::Object::new();
    for (name, value) in options {
        let _ = js_sys::Reflect::set(&object, &JsValue::from_str(name), &JsValue::from_str(value));
    }
    let locales = js_sys::Array::of1(&JsValue::from_str(i18n::locale().tag()));
    js_sys::Intl::DateTimeFormat::new(&locales, &object)
        .format()
        .call1(&JsValue::NULL, date)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_older_messages_show_their_date() {
        let names = |same_day| short_options(same_day).iter().map(|(name, _)| *name).collect::<Vec<_>>();
        assert_eq!(names(true), ["hour", "minute"]);
        assert_eq!(names(false), ["day", "month", "hour", "minute"]);
    }
}
