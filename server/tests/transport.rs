//! The transport: which TLS versions the server speaks, and what a client that sends its
//! request slowly gets.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::time::{Duration, Instant};

use palisade_server::config::TlsMode;
use support::TestApp;
use support::process::ServerProcess;
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

/// A new certificate and key for localhost, as PEM.
fn certificate_pair() -> (String, String) {
    let pair = rcgen::generate_simple_self_signed(vec!["localhost".to_owned()]).unwrap();
    (pair.cert.pem(), pair.key_pair.serialize_pem())
}

/// The certificate the server presents to a new connection, as DER.
async fn presented(app: &TestApp) -> Vec<u8> {
    let client = reqwest::Client::builder().danger_accept_invalid_certs(true).tls_info(true).build().unwrap();
    let answer = client.get(app.url("/healthz")).send().await.unwrap();
    answer.extensions().get::<reqwest::tls::TlsInfo>().unwrap().peer_certificate().unwrap().to_vec()
}

fn der(pem: &str) -> Vec<u8> {
    use rustls_pki_types::pem::PemObject;
    rustls_pki_types::CertificateDer::from_pem_slice(pem.as_bytes()).unwrap().to_vec()
}

#[tokio::test]
async fn sighup_makes_the_running_server_present_the_renewed_certificate() {
    let mut app = TestApp::spawn().await;
    let files = tempfile::tempdir().unwrap();
    let (cert_file, key_file) = (files.path().join("chat.crt"), files.path().join("chat.key"));
    let (first_cert, first_key) = certificate_pair();
    std::fs::write(&cert_file, &first_cert).unwrap();
    std::fs::write(&key_file, &first_key).unwrap();
    let (cert_path, key_path) = (cert_file.to_str().unwrap(), key_file.to_str().unwrap());
    let env =
        [("PALISADE_TLS__MODE", "files"), ("PALISADE_TLS__CERT_FILE", cert_path), ("PALISADE_TLS__KEY_FILE", key_path)];
    let logs = tempfile::tempdir().unwrap();
    let server = ServerProcess::start_with(&mut app, logs.path(), "warn,palisade_server=info", &env).await;
    assert!(app.base.starts_with("https://"));
    assert_eq!(presented(&app).await, der(&first_cert));

    // A renewal lands on disk; the running server keeps the old pair until it is told.
    let (renewed_cert, renewed_key) = certificate_pair();
    std::fs::write(&key_file, &renewed_key).unwrap();
    std::fs::write(&cert_file, &renewed_cert).unwrap();
    assert_eq!(presented(&app).await, der(&first_cert), "nothing changes before SIGHUP");
    server.hang_up();
    let deadline = Instant::now() + Duration::from_secs(10);
    while presented(&app).await != der(&renewed_cert) {
        assert!(Instant::now() < deadline, "SIGHUP did not bring in the renewed certificate: {}", server.tail());
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(server.output().contains("reloaded the TLS certificate"));
}

/// Sends one keep-alive request on `tcp`, reads the whole response, and returns its head.
async fn request_head(tcp: &mut TcpStream) -> String {
    tcp.write_all(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n").await.unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let read = tokio::time::timeout(Duration::from_secs(10), tcp.read(&mut byte)).await.unwrap().unwrap();
        assert_eq!(read, 1, "closed mid-head: {}", String::from_utf8_lossy(&head));
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let length = head
        .lines()
        .find_map(|line| line.to_ascii_lowercase().strip_prefix("content-length:").map(|n| n.trim().parse().unwrap()))
        .unwrap_or(0);
    let mut body = vec![0u8; length];
    tcp.read_exact(&mut body).await.unwrap();
    head
}

/// A connection from 127.0.0.2: an address of its own, apart from the test client's pool.
async fn connect_from_elsewhere(app: &TestApp) -> TcpStream {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.bind("127.0.0.2:0".parse().unwrap()).unwrap();
    socket.connect(app.addr).await.unwrap()
}

#[tokio::test]
async fn open_connections_are_capped_per_address_and_a_closed_one_frees_its_place() {
    let app = TestApp::spawn_configured(|config| config.connections_per_address = 2).await;
    let mut first = connect_from_elsewhere(&app).await;
    let mut second = connect_from_elsewhere(&app).await;
    for connection in [&mut first, &mut second] {
        let head = request_head(connection).await;
        assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    }

    let mut third = connect_from_elsewhere(&app).await;
    let refused = request_head(&mut third).await;
    assert!(refused.starts_with("HTTP/1.1 429"), "{refused}");
    assert!(refused.to_ascii_lowercase().contains("connection: close"), "{refused}");
    let mut rest = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(5), third.read_to_end(&mut rest)).await.unwrap();
    assert!(closed.is_ok(), "the refused connection is closed");

    // Another address is not affected; the two still work; when one goes, a new connection
    // gets its place.
    assert!(app.is_healthy().await);
    let again = request_head(&mut first).await;
    assert!(again.starts_with("HTTP/1.1 200"), "{again}");
    drop(second);
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let mut next = connect_from_elsewhere(&app).await;
        if request_head(&mut next).await.starts_with("HTTP/1.1 200") {
            break;
        }
        assert!(Instant::now() < deadline, "a closed connection never gave its place back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
