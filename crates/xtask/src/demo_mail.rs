//! The demo's outbox: a local SMTP sink that the chat server sends its mail to, printed in the
//! terminal, so that sign-up and password-reset links can be followed without a mail server.

use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, Result};
use palisade_smtp_sink::{Mail, SmtpSink};

/// Starts the outbox on its own thread; returns the `smtp_url` for the chat server.
pub fn start() -> Result<String> {
    let (url_tx, url_rx) = mpsc::channel();
    std::thread::spawn(move || {
        let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
            Ok(runtime) => runtime,
            Err(error) => {
                let _ = url_tx.send(Err(error));
                return;
            }
        };
        runtime.block_on(async move {
            let sink = match SmtpSink::start().await {
                Ok(sink) => sink,
                Err(error) => {
                    let _ = url_tx.send(Err(error));
                    return;
                }
            };
            let _ = url_tx.send(Ok(sink.url()));
            let mut printed = 0;
            loop {
                tokio::time::sleep(Duration::from_millis(300)).await;
                let mails = sink.mails();
                for mail in mails.iter().skip(printed) {
                    println!("{}", shown(mail));
                }
                printed = mails.len();
            }
        });
    });
    url_rx.recv().context("the demo outbox thread ended")?.context("starting the demo outbox")
}

/// A mail as the terminal shows it: recipient, subject and body, headers dropped.
fn shown(mail: &Mail) -> String {
    let (headers, body) = mail.text.split_once("\r\n\r\n").unwrap_or(("", &mail.text));
    let subject = headers.lines().find_map(|line| line.strip_prefix("Subject: ")).unwrap_or("(no subject)");
    let rule = "-".repeat(72);
    format!(
        "\n{rule}\nMail to {to}: {subject}\n\n{body}\n{rule}",
        to = mail.to.join(", "),
        body = body.replace("\r\n", "\n").trim_end()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shows_recipient_subject_and_body() {
        let mail = Mail {
            to: vec!["ada@example.org".into()],
            text: "From: a@b\r\nSubject: Finish creating your account\r\nDate: x\r\n\r\nOpen this:\r\n\r\nhttps://h/#t=1\r\n"
                .into(),
        };
        let text = shown(&mail);
        assert!(
            text.contains("Mail to ada@example.org: Finish creating your account\n\nOpen this:\n\nhttps://h/#t=1\n")
        );
        assert!(!text.contains("Date:"));
    }
}
