//! Where a SQL connection goes: the server's host resolved through the egress policy
//! ([`egress::EgressScope::resolve`]) and connected to by the address that was checked,
//! not by the name again (a second lookup may answer differently: DNS rebinding).
//!
//! - PostgreSQL and MySQL/MariaDB (sqlx): the connect options get the checked address as
//!   their host. sqlx verifies a TLS certificate against that same host, so with
//!   hostname verification (`sslmode=verify-full`, `ssl-mode=VERIFY_IDENTITY`) the name is
//!   kept: it is checked here and sqlx resolves it again when connecting — a small
//!   rebinding window, in which the server reached must still present a certificate valid
//!   for the name.
//! - SQL Server (tiberius): the TCP connection is ours, made to the checked address, while
//!   TLS verifies the name: no window.
//! - A Unix socket counts as loopback: refused when the policy denies loopback.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use connector_sdk::{ConnectorError, Operation};
use egress::{EgressError, EgressScope};

/// How long a candidate address may take to accept a TCP connection when a name has
/// several.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// The connector type whose egress rules apply (`egress.allow_for`).
pub const CONNECTOR_TYPE: &str = "sql";

/// The allowed addresses of `host` (a name or a literal address) with `port`, or the
/// refusal naming the rule.
pub async fn resolve(
    scope: &EgressScope,
    host: &str,
    port: u16,
    operation: Operation,
) -> Result<Vec<SocketAddr>, ConnectorError> {
    scope
        .resolve(host, port)
        .await
        .map_err(|error| match error {
            EgressError::Denied(denied) => connector_sdk::auth::egress_denied(operation, denied),
            lookup @ EgressError::Lookup { .. } => {
                ConnectorError::transient(operation, lookup.to_string())
            }
        })
}

/// The one address a pool connects to for `host`: when the name has several allowed ones,
/// the first that accepts a TCP connection (as a driver connecting by name would do).
pub async fn checked_address(
    scope: &EgressScope,
    host: &str,
    port: u16,
    operation: Operation,
) -> Result<IpAddr, ConnectorError> {
    let addresses = resolve(scope, host, port, operation).await?;
    let Some(first) = addresses.first() else {
        return Err(ConnectorError::transient(
            operation,
            format!("cannot resolve {host}: no address found"),
        ));
    };
    if addresses.len() > 1 {
        for address in &addresses {
            if let Ok(Ok(_)) =
                tokio::time::timeout(PROBE_TIMEOUT, tokio::net::TcpStream::connect(address)).await
            {
                return Ok(address.ip());
            }
        }
    }
    Ok(first.ip())
}

/// Refuses a Unix socket when the policy denies loopback.
pub fn check_socket(
    scope: &EgressScope,
    socket: &Path,
    operation: Operation,
) -> Result<(), ConnectorError> {
    scope
        .check_ip(IpAddr::V4(Ipv4Addr::LOCALHOST))
        .map_err(|denied| {
            ConnectorError::new(
                connector_sdk::ErrorKind::Permission,
                operation,
                format!(
                    "the Unix socket {} counts as a loopback address: {denied}",
                    socket.display()
                ),
            )
            .with_source(denied)
        })
}
