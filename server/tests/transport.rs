//! The transport: which TLS versions the server speaks, and what a client that sends its
//! request slowly gets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use palisade_server::config::TlsMode;
use support::TestApp;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// A ClientHello of `version` (`[3, 2]` is TLS 1.1, RFC 4346) in the record and the hello, with
/// no `supported_versions` extension. Besides TLS 1.1's own suites it offers two the server
/// has, and the groups and signature schemes they need, so that the version is the only thing
/// the server can hold against it.
fn client_hello(version: [u8; 2]) -> Vec<u8> {
    let mut hello = version.to_vec();
    hello.extend_from_slice(&[0x5a; 32]); // random
    hello.push(0); // no session id
    // RSA_WITH_AES_128_CBC_SHA, RSA_WITH_AES_256_CBC_SHA, ECDHE_ECDSA/RSA_WITH_AES_128_GCM_SHA256
    hello.extend_from_slice(&[0x00, 0x08, 0x00, 0x2f, 0x00, 0x35, 0xc0, 0x2b, 0xc0, 0x2f]);
    hello.extend_from_slice(&[0x01, 0x00]); // null compression only
    let extensions: &[u8] = &[
        0x00, 0x0a, 0x00, 0x06, 0x00, 0x04, 0x00, 0x1d, 0x00, 0x17, // groups: x25519, secp256r1
        0x00, 0x0b, 0x00, 0x02, 0x01, 0x00, // point formats: uncompressed
        0x00, 0x0d, 0x00, 0x08, 0x00, 0x06, 0x04, 0x03, 0x08, 0x04, 0x04, 0x01, // signature schemes
    ];
    hello.extend_from_slice(&u16::try_from(extensions.len()).unwrap().to_be_bytes());
    hello.extend_from_slice(extensions);
    let mut handshake = vec![0x01, 0x00];
    handshake.extend_from_slice(&u16::try_from(hello.len()).unwrap().to_be_bytes());
    handshake.extend_from_slice(&hello);
    let mut record = vec![0x16, version[0], version[1]];
    record.extend_from_slice(&u16::try_from(handshake.len()).unwrap().to_be_bytes());
    record.extend_from_slice(&handshake);
    record
}

fn client(min: reqwest::tls::Version, max: reqwest::tls::Version) -> reqwest::Client {
    reqwest::Client::builder()
        .danger_accept_invalid_certs(true)
        .min_tls_version(min)
        .max_tls_version(max)
        .build()
        .unwrap()
}

#[tokio::test]
async fn a_tls_1_1_client_is_refused_and_tls_1_2_and_1_3_are_served() {
    let app = TestApp::spawn_with(TlsMode::SelfSigned).await;
    use reqwest::tls::Version;
    for (version, name) in [(Version::TLS_1_2, "TLS 1.2"), (Version::TLS_1_3, "TLS 1.3")] {
        let answer = client(version, version).get(app.url("/healthz")).send().await;
        assert_eq!(answer.map(|a| a.status().as_u16()).ok(), Some(200), "{name} is served");
    }

    let first_record = |version| async move {
        let mut tcp = TcpStream::connect(app.addr).await.unwrap();
        tcp.write_all(&client_hello(version)).await.unwrap();
        let mut answer = [0u8; 7];
        tokio::time::timeout(Duration::from_secs(10), tcp.read_exact(&mut answer)).await.unwrap().unwrap();
        answer
    };
    // The same hello as TLS 1.2 gets a ServerHello (a handshake record): nothing else in it is
    // what the server refuses.
    assert_eq!(first_record([3, 3]).await[0], 22, "the TLS 1.2 hello is answered");
    let answer = first_record([3, 2]).await;
    // One fatal alert (content type 21, level 2): protocol_version.
    assert_eq!(answer[0], 21, "an alert, not a ServerHello: {answer:02x?}");
    assert_eq!(&answer[5..7], &[2, 70], "a fatal protocol_version alert: {answer:02x?}");
}

#[tokio::test]
async fn a_client_that_sends_its_request_head_slowly_is_cut_off() {
    let app = TestApp::spawn().await;
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let started = Instant::now();
    // The start of a request, then one more header line now and then, never the blank line.
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n").await.unwrap();
    let mut answer = Vec::new();
    let mut buffer = [0u8; 1024];
    let ended = loop {
        match tokio::time::timeout(Duration::from_secs(2), slow.read(&mut buffer)).await {
            Ok(Ok(0) | Err(_)) => break started.elapsed(),
            Ok(Ok(n)) => answer.extend_from_slice(&buffer[..n]),
            Err(_) => {
                assert!(started.elapsed() < Duration::from_secs(30), "the slow client was never cut off");
                // A write to a connection the server closed may fail: that is the point.
                let _ = slow.write_all(b"X-Slow: 1\r\n").await;
            }
        }
    };
    let answer = String::from_utf8_lossy(&answer);
    assert!(answer.is_empty() || answer.starts_with("HTTP/1.1 408"), "{answer}");
    // Dripping headers does not buy time: the head has ten seconds in all.
    assert!(ended >= Duration::from_secs(9) && ended < Duration::from_secs(20), "cut off after {ended:?}");
    // Meanwhile everyone else was served.
    assert!(app.is_healthy().await);
}
