//! The SQL Server session (tiberius over tokio): connection from a `mssql://` URL and the
//! classification of its errors. Statements are built by [`crate::dialect::MssqlDialect`].
//!
//! URL: `mssql://user[:password]@host[:port]/database?encrypt=true|false|off&trust_server_certificate=true`.

use connector_sdk::{ConnectorError, ErrorKind, Operation, Secret};
use egress::EgressScope;
use tiberius::{AuthMethod, Client, Config, EncryptionLevel};
use tokio::net::TcpStream;
use tokio::sync::{Mutex, MutexGuard};
use tokio_util::compat::{Compat, TokioAsyncWriteCompatExt};

/// A connected SQL Server client.
pub type MssqlClient = Client<Compat<TcpStream>>;

/// One SQL Server connection, opened lazily and reopened after a failure.
pub struct MssqlSession {
    config: Config,
    client: Mutex<Option<MssqlClient>>,
    /// The platform's instance id: a database holding it is refused on every connect.
    platform_instance: Option<String>,
    /// The server's host and port, resolved through `egress` on every connect.
    host: String,
    port: u16,
    egress: Option<EgressScope>,
}

impl std::fmt::Debug for MssqlSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MssqlSession")
    }
}

fn config_error(detail: impl Into<String>) -> ConnectorError {
    ConnectorError::config(Operation::Build, detail)
}

impl MssqlSession {
    /// Parses the URL; `password` (resolved from the secret reference) wins over one in the URL.
    pub fn from_url(url: &str, password: Option<&Secret>) -> Result<Self, ConnectorError> {
        let parsed = url::Url::parse(url)
            .map_err(|e| config_error(format!("the SQL Server URL is not valid: {e}")))?;
        let mut config = Config::new();
        let host = parsed.host_str().unwrap_or("localhost").to_owned();
        let port = parsed.port().unwrap_or(1433);
        config.host(&host);
        config.port(port);
        let database = parsed.path().trim_start_matches('/');
        if !database.is_empty() {
            config.database(database);
        }
        let user = url::form_urlencoded::parse(parsed.username().as_bytes())
            .next()
            .map(|(k, _)| k.into_owned())
            .unwrap_or_default();
        let url_password = parsed.password().map(|p| {
            url::form_urlencoded::parse(p.as_bytes())
                .next()
                .map(|(k, _)| k.into_owned())
                .unwrap_or_default()
        });
        let secret = password
            .map(|s| s.expose().to_owned())
            .or(url_password)
            .unwrap_or_default();
        config.authentication(AuthMethod::sql_server(user, secret));
        for (key, value) in parsed.query_pairs() {
            match key.to_ascii_lowercase().as_str() {
                "encrypt" => config.encryption(match value.to_ascii_lowercase().as_str() {
                    "true" | "required" | "yes" => EncryptionLevel::Required,
                    "off" => EncryptionLevel::Off,
                    "false" | "no" | "not_supported" => EncryptionLevel::NotSupported,
                    other => {
                        return Err(config_error(format!(
                            "`encrypt={other}` is not one of true, false, off"
                        )));
                    }
                }),
                "trust_server_certificate" | "trustservercertificate"
                    if value.eq_ignore_ascii_case("true") =>
                {
                    config.trust_cert()
                }
                "trust_server_certificate" | "trustservercertificate" => {}
                "application_name" => config.application_name(value.as_ref()),
                other => {
                    return Err(config_error(format!(
                        "unknown SQL Server URL option `{other}`"
                    )));
                }
            }
        }
        Ok(Self {
            config,
            client: Mutex::new(None),
            platform_instance: None,
            host,
            port,
            egress: None,
        })
    }

    /// The same session, connecting only to addresses `egress` allows: the TCP connection
    /// goes to the address checked, while TLS verifies the host name.
    #[must_use]
    pub fn with_egress(mut self, egress: EgressScope) -> Self {
        self.egress = Some(egress);
        self
    }

    /// The same session, refusing a database that holds the platform instance `id` (see
    /// [`crate::platform`]).
    #[must_use]
    pub fn refusing_instance(mut self, id: Option<String>) -> Self {
        self.platform_instance = id;
        self
    }

    /// The connected client, connecting first when needed. Hold the guard for one operation.
    pub async fn client(
        &self,
        operation: Operation,
    ) -> Result<MutexGuard<'_, Option<MssqlClient>>, ConnectorError> {
        let mut guard = self.client.lock().await;
        if guard.is_none() {
            let reached = match &self.egress {
                Some(egress) => {
                    let host = self.host.trim_start_matches('[').trim_end_matches(']');
                    let addresses =
                        crate::network::resolve(egress, host, self.port, operation).await?;
                    TcpStream::connect(&addresses[..]).await
                }
                None => TcpStream::connect(self.config.get_addr()).await,
            };
            let tcp = reached.map_err(|e| {
                ConnectorError::transient(operation, format!("cannot reach SQL Server: {e}"))
            })?;
            let _ = tcp.set_nodelay(true);
            let mut client = Client::connect(self.config.clone(), tcp.compat_write())
                .await
                .map_err(|e| error(operation, &e))?;
            if let Some(id) = &self.platform_instance
                && crate::platform::is_platform_mssql(&mut client, id)
                    .await
                    .map_err(|e| error(operation, &e))?
            {
                tracing::warn!(operation = %operation, "refused a SQL connection to the platform's own database");
                return Err(crate::platform::refusal(operation));
            }
            *guard = Some(client);
        }
        Ok(guard)
    }

    /// Connects and runs `SELECT 1`.
    pub async fn probe(&self, operation: Operation) -> Result<(), ConnectorError> {
        let mut guard = self.client(operation).await?;
        let client = guard
            .as_mut()
            .ok_or_else(|| ConnectorError::transient(operation, "not connected"))?;
        let result = match client.simple_query("SELECT 1").await {
            Ok(stream) => stream.into_results().await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = result {
            *guard = None;
            return Err(error(operation, &e));
        }
        Ok(())
    }

    /// Forgets the connection (after an I/O error) so the next call reconnects.
    pub async fn reset(&self) {
        *self.client.lock().await = None;
    }
}

/// The kind of a SQL Server error by its number.
pub fn error_kind(err: &tiberius::error::Error) -> ErrorKind {
    match err {
        tiberius::error::Error::Server(token) => match token.code() {
            18456 | 18452 | 18488 => ErrorKind::Auth,
            229 | 230 | 262 | 297 | 916 => ErrorKind::Permission,
            208 | 4060 | 207 => ErrorKind::NotFound,
            1205 | 1222 | 40501 | 40613 | 49918 | 49919 | 49920 => ErrorKind::Transient,
            _ => ErrorKind::Data,
        },
        tiberius::error::Error::Io { .. } | tiberius::error::Error::Tls(_) => ErrorKind::Transient,
        tiberius::error::Error::Conversion(_)
        | tiberius::error::Error::Utf8
        | tiberius::error::Error::Utf16 => ErrorKind::Data,
        _ => ErrorKind::Transient,
    }
}

/// A [`ConnectorError`] from a SQL Server error.
pub fn error(operation: Operation, err: &tiberius::error::Error) -> ConnectorError {
    let detail = match err {
        tiberius::error::Error::Server(token) => {
            format!("{} (error {})", token.message(), token.code())
        }
        other => other.to_string(),
    };
    ConnectorError::new(error_kind(err), operation, detail)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn urls_parse_into_a_config() {
        let session = MssqlSession::from_url(
            "mssql://sa:pw@db.example:1444/app?encrypt=true&trust_server_certificate=true",
            None,
        )
        .unwrap();
        assert_eq!(session.config.get_addr(), "db.example:1444");
        assert!(
            MssqlSession::from_url("mssql://sa@h/db?encrypt=maybe", None)
                .unwrap_err()
                .detail()
                .contains("encrypt=maybe")
        );
        assert!(MssqlSession::from_url("mssql://sa@h/db?bogus=1", None).is_err());
    }
}
