//! The WebSocket frame decoder: the first thing the server does with bytes from any browser.
//! A frame that decodes must survive a round trip unchanged, so what the server acts on is
//! exactly what was sent.

#![no_main]

use libfuzzer_sys::fuzz_target;
use palisade_protocol::limits;
use palisade_protocol::ws::{ClientFrame, ServerFrame};

fuzz_target!(|data: &[u8]| {
    if let Ok(frame) = serde_json::from_slice::<ClientFrame>(data) {
        let json = serde_json::to_vec(&frame).expect("a decoded frame encodes");
        let again: ClientFrame = serde_json::from_slice(&json).expect("an encoded frame decodes");
        assert_eq!(again, frame);
        // Debug is hand-written to hide tokens; it must still work on anything that decodes.
        let _ = format!("{frame:?}");
        if let ClientFrame::Send { body, .. } = &frame {
            let _ = limits::check_message_body(body);
        }
    }
    // The widget decodes what the server sends; it must not fall over either.
    if let Ok(frame) = serde_json::from_slice::<ServerFrame>(data) {
        let json = serde_json::to_vec(&frame).expect("a decoded frame encodes");
        let again: ServerFrame = serde_json::from_slice(&json).expect("an encoded frame decodes");
        assert_eq!(again, frame);
    }
});
