//! Outgoing mail (password-reset links), over SMTP with lettre. Sending happens in the
//! background so that a request for an address with an account takes as long as one without.

use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use crate::config::Config;

#[derive(Debug, thiserror::Error)]
pub enum MailError {
    #[error("smtp_url is not a usable SMTP URL: {0}")]
    Url(String),
    #[error("mail_from is not a mailbox: {0}")]
    From(String),
}

/// The configured mail transport, or none (then features that need mail answer 503).
#[derive(Clone)]
pub struct Mailer {
    transport: Option<AsyncSmtpTransport<Tokio1Executor>>,
    from: Mailbox,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("configured", &self.transport.is_some()).finish_non_exhaustive()
    }
}

impl Mailer {
    pub fn new(config: &Config) -> Result<Self, MailError> {
        let from =
            config.mail_from.parse().map_err(|e: lettre::address::AddressError| MailError::From(e.to_string()))?;
        let transport = match &config.smtp_url {
            None => None,
            Some(url) => Some(
                AsyncSmtpTransport::<Tokio1Executor>::from_url(url.expose())
                    // The URL may hold a password: say what is wrong, not what it is.
                    .map_err(|e| MailError::Url(e.to_string().replace(url.expose(), "<smtp_url>")))?
                    .build(),
            ),
        };
        Ok(Self { transport, from })
    }

    pub fn is_configured(&self) -> bool {
        self.transport.is_some()
    }

    /// Queues a plain-text message; failures are logged (never the body: it holds a link that
    /// is a credential).
    pub fn send_later(&self, to: &str, subject: &str, body: String) {
        let Some(transport) = self.transport.clone() else { return };
        let to: Mailbox = match to.parse() {
            Ok(to) => to,
            Err(error) => {
                tracing::warn!(%error, "not sending mail to an address lettre cannot parse");
                return;
            }
        };
        let message = Message::builder().from(self.from.clone()).to(to).subject(subject).body(body);
        let message = match message {
            Ok(message) => message,
            Err(error) => {
                tracing::error!(%error, "could not build a mail message");
                return;
            }
        };
        tokio::spawn(async move {
            if let Err(error) = transport.send(message).await {
                tracing::error!(%error, "sending mail failed");
            }
        });
    }
}
