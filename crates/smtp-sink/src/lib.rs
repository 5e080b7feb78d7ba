//! A local SMTP sink: it accepts every message and keeps it for whoever started it to read (a
//! test reading a sign-up link, the load tool signing its people up, the demo printing mail to
//! the terminal). Loopback only; it is not a mail server.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    /// Headers and body as sent, quoted-printable soft breaks and escapes undone.
    pub text: String,
}

impl Mail {
    /// The first link in the message that starts with `prefix`, up to the next whitespace.
    pub fn link(&self, prefix: &str) -> Option<String> {
        let start = self.text.find(prefix)?;
        Some(self.text[start..].chars().take_while(|c| !c.is_whitespace()).collect())
    }

    /// The token of the first link to `page` carrying it as `#<fragment>=<token>`: how
    /// Palisade's mailed links (sign-up, password reset) carry theirs.
    pub fn token(&self, page: &str, fragment: &str) -> Option<String> {
        let prefix = format!("{page}#{fragment}=");
        self.link(&prefix).map(|link| link[prefix.len()..].to_owned())
    }
}

#[derive(Debug)]
pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
}

impl SmtpSink {
    /// Must be called within a Tokio runtime.
    pub async fn start() -> std::io::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        let mails = Arc::new(Mutex::new(Vec::new()));
        let kept = Arc::clone(&mails);
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(session(stream, Arc::clone(&kept)));
            }
        });
        Ok(Self { addr, mails })
    }

    /// For the server's `smtp_url`.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.addr)
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    /// The messages sent to `address`, oldest first.
    pub fn mails_to(&self, address: &str) -> Vec<Mail> {
        self.mails().into_iter().filter(|mail| mail.to.iter().any(|to| to == address)).collect()
    }

    /// Waits up to 10 s for the `nth` (1-based) message to `address`.
    pub async fn wait_for_mail_to(&self, address: &str, nth: usize) -> Option<Mail> {
        for _ in 0..200 {
            if let Some(mail) = self.mails_to(address).into_iter().nth(nth.saturating_sub(1)) {
                return Some(mail);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        None
    }

    /// Waits up to 10 s for at least `count` messages.
    pub async fn wait_for(&self, count: usize) -> Vec<Mail> {
        for _ in 0..200 {
            if self.mails().len() >= count {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        self.mails()
    }
}

fn undo_quoted_printable(text: &str) -> String {
    let joined = text.replace("=\r\n", "");
    let bytes = joined.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        let escaped = (byte == b'=')
            .then(|| bytes.get(i + 1..i + 3))
            .flatten()
            .and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
        match escaped {
            Some(decoded) => {
                out.push(decoded);
                i += 3;
            }
            None => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let _ = write.write_all(b"220 sink ESMTP\r\n").await;
    let mut to = Vec::new();
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250 8BITMIME\r\n"
        } else if let Some(address) = line.trim_end().get(8..).filter(|_| command.starts_with("RCPT TO:")) {
            to.push(address.trim_matches(|c| c == '<' || c == '>' || c == ' ').to_owned());
            b"250 OK\r\n"
        } else if command == "DATA" {
            let _ = write.write_all(b"354 end with .\r\n").await;
            let mut data = String::new();
            loop {
                line.clear();
                if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                    return;
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(&line);
            }
            let mail = Mail { to: std::mem::take(&mut to), text: undo_quoted_printable(&data) };
            mails.lock().unwrap_or_else(PoisonError::into_inner).push(mail);
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoted_printable_is_undone() {
        assert_eq!(undo_quoted_printable("a=3Db=\r\nc ="), "a=bc =");
    }

    #[test]
    fn links_are_read_up_to_whitespace() {
        let mail = Mail { to: vec![], text: "Open\r\nhttps://a.example/#x=1 within a day".into() };
        assert_eq!(mail.link("https://a.example/").as_deref(), Some("https://a.example/#x=1"));
        assert_eq!(mail.link("https://b.example/"), None);
        assert_eq!(mail.token("https://a.example/", "x").as_deref(), Some("1"));
        assert_eq!(mail.token("https://a.example/", "y"), None);
    }
}
