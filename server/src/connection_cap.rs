//! The per-network cap on open connections, at the connection level: each accepted connection
//! takes a place under a [`SocketCap`] as it is accepted and gives it back when it closes. A
//! connection over the cap is answered 429 on its first request and closed, so a client with
//! many idle keep-alive connections (or slow ones) cannot take every file descriptor.
//!
//! Connections from a trusted proxy are not counted: each carries many clients, who are told
//! apart by the forwarded address the request-level limits use.

use std::any::Any;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use actix_tls::accept::rustls_0_23::TlsStream;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{Extensions, ServiceRequest, ServiceResponse};
use actix_web::http::header;
use actix_web::middleware::Next;
use actix_web::rt::net::TcpStream;
use palisade_protocol::ErrorCode;

use crate::error::ApiError;
use crate::socket_cap::{Slot, SocketCap};

/// This connection's place under the cap, or `None` when it was over it. Dropped with the
/// connection.
#[derive(Debug)]
struct Place(Option<Slot>);

fn peer(io: &dyn Any) -> Option<SocketAddr> {
    if let Some(tcp) = io.downcast_ref::<TcpStream>() {
        return tcp.peer_addr().ok();
    }
    io.downcast_ref::<TlsStream<TcpStream>>().and_then(|tls| tls.get_ref().0.peer_addr().ok())
}

/// For `HttpServer::on_connect`: takes the new connection's place under `cap`.
pub fn on_connect(cap: &Arc<SocketCap>, trusted: &[ipnet::IpNet], io: &dyn Any, data: &mut Extensions) {
    let Some(ip) = peer(io).map(|addr| addr.ip()) else { return };
    if is_trusted(trusted, ip) {
        return;
    }
    data.insert(Place(cap.take(ip)));
}

fn is_trusted(trusted: &[ipnet::IpNet], ip: IpAddr) -> bool {
    trusted.iter().any(|net| net.contains(&ip))
}

/// Middleware: a request on a connection over the cap gets 429 and the connection is closed.
pub async fn enforce(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    if req.conn_data::<Place>().is_some_and(|place| place.0.is_none()) {
        let refused =
            ApiError::new(ErrorCode::RateLimited, "too many connections open from your network").with_retry_after(5);
        let mut response = actix_web::ResponseError::error_response(&refused);
        response.head_mut().set_connection_type(actix_web::http::ConnectionType::Close);
        response.headers_mut().insert(header::CONNECTION, header::HeaderValue::from_static("close"));
        return Ok(req.into_response(response).map_into_right_body());
    }
    Ok(next.call(req).await?.map_into_left_body())
}
