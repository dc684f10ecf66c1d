//! grimOS configuration.
//!
//! Every setting can come from a command-line flag, an environment variable, the TOML
//! configuration file, or its default — in that order of precedence. Each value remembers
//! where it came from, so that an invalid one is reported as one clear line naming the
//! setting, its source and what is wrong (the binary exits with code 2), and
//! `grimos config show` can print the effective configuration with its sources, secrets
//! redacted.

mod source;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use secrets::{SecretValue, VaultConfig};
use telemetry::LogFormat;

pub use kernel::redact_url_password;
pub use source::{FileValues, Origin};

/// The fully resolved configuration of a grimOS process.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Address the HTTP server listens on.
    pub listen: SocketAddr,
    /// Directory for the SQLite database, the admin token file and other local state.
    pub data_dir: PathBuf,
    /// `sqlite://...` or `postgres://...`.
    pub database_url: String,
    /// Log line format.
    pub log_format: LogFormat,
    /// Log filter directive (e.g. `info`, `info,sqlx=warn`).
    pub log_level: String,
    /// Longest time a request may take before it is answered with 408.
    pub request_timeout: Duration,
    /// Largest request body accepted (413 beyond it).
    pub body_limit_bytes: usize,
    /// How long shutdown waits for in-flight requests.
    pub shutdown_grace: Duration,
    /// Flow runs executing at once in this process; more wait in status `queued`.
    pub max_concurrent_runs: usize,
    /// How long a flow run may take when its flow sets no `run_timeout_secs`.
    pub default_run_timeout: Duration,
    /// How far a signed webhook's timestamp may be from the server's clock.
    pub webhook_tolerance: Duration,
    /// Where secret references may point (`env:` prefix, `file:` directories, `vault:`
    /// path prefixes).
    pub secret_references: SecretReferenceSettings,
    /// Where outbound connections made on a caller's behalf may go.
    pub egress: EgressSettings,
    /// The built admin web app, served at `/`.
    pub web_dir: PathBuf,
    /// The token the first admin gets on first start (from `GRIMOS_ADMIN_TOKEN`).
    pub admin_token: Option<SecretValue>,
    /// The embedded secret store's master key (from `GRIMOS_MASTER_KEY`); without it, key
    /// files under `<data-dir>/keys` are used (created on first start).
    pub master_key: Option<SecretValue>,
    /// Vault/OpenBao for `vault:` references: the `[vault]` table of the file, or Vault's
    /// standard environment variables (`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`,
    /// `VAULT_CACERT`).
    pub vault: Option<VaultConfig>,
    /// OIDC bearer-token verification, when configured.
    pub oidc: Option<OidcSettings>,
    /// HTTPS serving (and mutual TLS), when a certificate and key are configured.
    pub tls: Option<TlsSettings>,
    /// Where each value came from, in display order.
    pub origins: Vec<(&'static str, Origin)>,
}

/// Confinement of secret references (who may use one is decided by use grants).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecretReferenceSettings {
    /// `env:` references must name a variable starting with this prefix.
    pub env_prefix: String,
    /// `file:` references must point under one of these directories.
    pub file_dirs: Vec<PathBuf>,
    /// `vault:` references must start with one of these `mount/path` prefixes (empty: any
    /// path the server's Vault token can read).
    pub vault_prefixes: Vec<String>,
}

/// The egress policy's settings: which addresses connectors and notifiers may reach.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct EgressSettings {
    /// Also deny private, loopback and shared address ranges.
    pub deny_private: bool,
    /// Ranges always allowed (they override every deny rule).
    pub allow: Vec<ipnet::IpNet>,
    /// Ranges denied besides the built-in rules.
    pub deny: Vec<ipnet::IpNet>,
    /// Ranges allowed for one connector type only (`sql`, `rest`, or `notify` for flow
    /// notifications).
    pub allow_for: Vec<(String, ipnet::IpNet)>,
}

/// OIDC bearer-token verification: the `[auth.oidc]` table or `GRIMOS_OIDC_*`. The server
/// hands these values to `identity::OidcVerifier` (settings depend on no service crate).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OidcSettings {
    /// The expected `iss` claim.
    pub issuer: String,
    /// The expected `aud` claim.
    pub audience: String,
    /// Where the identity provider publishes its keys (http or https).
    pub jwks_url: String,
    /// The claim holding the grimOS role (dotted path), default `grimos_role`.
    pub role_claim: String,
    /// The claim naming the caller for humans, default `preferred_username`.
    pub name_claim: String,
}

/// HTTPS serving.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsSettings {
    /// PEM certificate chain, leaf first.
    pub cert: PathBuf,
    /// PEM private key (PKCS#8, PKCS#1 or SEC1).
    pub key: PathBuf,
    /// PEM CA bundle that client certificates must chain to (turns on mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// Whether a client certificate is required or only accepted when presented.
    pub client_auth: ClientAuth,
}

/// Whether mutual TLS requires a client certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    /// Every client must present a certificate signed by the client CA.
    Required,
    /// A certificate is verified when presented (it authenticates a `service` principal);
    /// clients without one authenticate with bearer tokens as usual.
    Optional,
}

/// An invalid setting: which one, from where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid setting {setting} (from {origin}): {message}")]
pub struct SettingError {
    /// The setting's name, e.g. `listen`.
    pub setting: String,
    /// Where the bad value came from.
    pub origin: Origin,
    /// What is wrong, naming the expected form.
    pub message: String,
}

/// Values given on the command line (each `None` when the flag was not given).
#[derive(Debug, Clone, Default)]
pub struct Flags {
    /// `--config`
    pub config: Option<PathBuf>,
    /// `--listen`
    pub listen: Option<String>,
    /// `--data-dir`
    pub data_dir: Option<String>,
    /// `--database-url`
    pub database_url: Option<String>,
    /// `--log-format`
    pub log_format: Option<String>,
    /// `--log-level`
    pub log_level: Option<String>,
    /// `--web-dir`
    pub web_dir: Option<String>,
    /// `--tls-cert`
    pub tls_cert: Option<String>,
    /// `--tls-key`
    pub tls_key: Option<String>,
    /// `--tls-client-ca`
    pub tls_client_ca: Option<String>,
}

/// The settings known to grimOS: name, flag, environment variable, TOML key.
///
/// This list is the one definition of every setting: the TOML keys the file may hold, the
/// environment names, and the README's configuration table are derived from it (a test
/// fails when the README differs).
#[derive(Debug, Clone, Copy)]
pub struct Definition {
    /// The setting's name (as in errors and `grimos config show`).
    pub name: &'static str,
    /// Its environment variable.
    pub env: &'static str,
    /// Its key in the TOML file (dotted for tables).
    pub key: &'static str,
    /// Its command-line flag, or empty.
    pub flag: &'static str,
    /// Its default and meaning, as the README shows them (Markdown).
    pub doc: &'static str,
}

const LISTEN: Definition = Definition {
    name: "listen",
    env: "GRIMOS_LISTEN",
    key: "listen",
    flag: "--listen",
    doc: "`127.0.0.1:8080`",
};
const DATA_DIR: Definition = Definition {
    name: "data_dir",
    env: "GRIMOS_DATA_DIR",
    key: "data_dir",
    flag: "--data-dir",
    doc: "`./data`",
};
const DATABASE_URL: Definition = Definition {
    name: "database_url",
    env: "GRIMOS_DATABASE_URL",
    key: "database_url",
    flag: "--database-url",
    doc: "`sqlite://<data_dir>/grimos.db`; `postgres://user:pass@host:5432/db` selects PostgreSQL (`?sslmode=verify-full` etc. honoured)",
};
const LOG_FORMAT: Definition = Definition {
    name: "log_format",
    env: "GRIMOS_LOG_FORMAT",
    key: "log_format",
    flag: "--log-format",
    doc: "`json` (or `pretty`)",
};
const LOG_LEVEL: Definition = Definition {
    name: "log_level",
    env: "GRIMOS_LOG_LEVEL",
    key: "log_level",
    flag: "--log-level",
    doc: "`info` (any `tracing` filter, e.g. `info,sqlx=warn`)",
};
const REQUEST_TIMEOUT: Definition = Definition {
    name: "request_timeout_secs",
    env: "GRIMOS_REQUEST_TIMEOUT_SECS",
    key: "request_timeout_secs",
    flag: "",
    doc: "`30`",
};
const BODY_LIMIT: Definition = Definition {
    name: "body_limit_bytes",
    env: "GRIMOS_BODY_LIMIT_BYTES",
    key: "body_limit_bytes",
    flag: "",
    doc: "`2097152`",
};
const SHUTDOWN_GRACE: Definition = Definition {
    name: "shutdown_grace_secs",
    env: "GRIMOS_SHUTDOWN_GRACE_SECS",
    key: "shutdown_grace_secs",
    flag: "",
    doc: "`30`",
};
const MAX_CONCURRENT_RUNS: Definition = Definition {
    name: "flows.max_concurrent_runs",
    env: "GRIMOS_FLOWS_MAX_CONCURRENT_RUNS",
    key: "flows.max_concurrent_runs",
    flag: "",
    doc: "`4` (1–256; flow runs executing at once in this process, more wait `queued`)",
};
const DEFAULT_RUN_TIMEOUT: Definition = Definition {
    name: "flows.default_run_timeout_secs",
    env: "GRIMOS_FLOWS_DEFAULT_RUN_TIMEOUT_SECS",
    key: "flows.default_run_timeout_secs",
    flag: "",
    doc: "`3600` (1–604800; a run of a flow without `options.run_timeout_secs` is stopped at a batch boundary after this long)",
};
const WEBHOOK_TOLERANCE: Definition = Definition {
    name: "flows.webhook_tolerance_secs",
    env: "GRIMOS_FLOWS_WEBHOOK_TOLERANCE_SECS",
    key: "flows.webhook_tolerance_secs",
    flag: "",
    doc: "`300` (1–3600; a signed webhook's `t=` may be this far from the server's clock, and each signature is accepted once within it)",
};
const SECRETS_ENV_PREFIX: Definition = Definition {
    name: "secrets.env_prefix",
    env: "GRIMOS_SECRETS_ENV_PREFIX",
    key: "secrets.env_prefix",
    flag: "",
    doc: "`GRIMOS_SECRET_` (`env:` references must name a variable starting with it)",
};
const SECRETS_FILE_DIRS: Definition = Definition {
    name: "secrets.file_dirs",
    env: "GRIMOS_SECRETS_FILE_DIRS",
    key: "secrets.file_dirs",
    flag: "",
    doc: "`/run/secrets`, `<data_dir>/secrets` (absolute directories `file:` references must lie under; comma-separated in the environment, an array in the file)",
};
const SECRETS_VAULT_PREFIXES: Definition = Definition {
    name: "secrets.vault_prefixes",
    env: "GRIMOS_SECRETS_VAULT_PREFIXES",
    key: "secrets.vault_prefixes",
    flag: "",
    doc: "none: any path the Vault token may read (else `vault:` references must start with one of these `mount/path` prefixes)",
};
const EGRESS_DENY_PRIVATE: Definition = Definition {
    name: "egress.deny_private",
    env: "GRIMOS_EGRESS_DENY_PRIVATE",
    key: "egress.deny_private",
    flag: "",
    doc: "`false` (`true` also denies connectors and notifications loopback and private ranges: 127.0.0.0/8, ::1, 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7; cloud metadata, link-local, multicast and similar are always denied — see docs/security.md)",
};
const EGRESS_ALLOW: Definition = Definition {
    name: "egress.allow",
    env: "GRIMOS_EGRESS_ALLOW",
    key: "egress.allow",
    flag: "",
    doc: "none (CIDR ranges every connector type may reach whatever else denies them, metadata included; comma-separated in the environment, an array in the file)",
};
const EGRESS_DENY: Definition = Definition {
    name: "egress.deny",
    env: "GRIMOS_EGRESS_DENY",
    key: "egress.deny",
    flag: "",
    doc: "none (CIDR ranges denied besides the built-in rules)",
};
const EGRESS_ALLOW_FOR: Definition = Definition {
    name: "egress.allow_for",
    env: "GRIMOS_EGRESS_ALLOW_FOR",
    key: "egress.allow_for",
    flag: "",
    doc: "none (`TYPE=RANGE` entries allowing a range for one connector type only: `rest`, `sql`, or `notify` for flow notifications, e.g. `sql=10.20.0.0/16`)",
};
const OIDC_ISSUER: Definition = Definition {
    name: "auth.oidc.issuer",
    env: "GRIMOS_OIDC_ISSUER",
    key: "auth.oidc.issuer",
    flag: "",
    doc: "OIDC off (set issuer, audience and jwks_url to turn it on)",
};
const OIDC_AUDIENCE: Definition = Definition {
    name: "auth.oidc.audience",
    env: "GRIMOS_OIDC_AUDIENCE",
    key: "auth.oidc.audience",
    flag: "",
    doc: "required when OIDC is configured",
};
const OIDC_JWKS_URL: Definition = Definition {
    name: "auth.oidc.jwks_url",
    env: "GRIMOS_OIDC_JWKS_URL",
    key: "auth.oidc.jwks_url",
    flag: "",
    doc: "required when OIDC is configured",
};
const OIDC_ROLE_CLAIM: Definition = Definition {
    name: "auth.oidc.role_claim",
    env: "GRIMOS_OIDC_ROLE_CLAIM",
    key: "auth.oidc.role_claim",
    flag: "",
    doc: "`grimos_role` (dotted path; string or array)",
};
const OIDC_NAME_CLAIM: Definition = Definition {
    name: "auth.oidc.name_claim",
    env: "GRIMOS_OIDC_NAME_CLAIM",
    key: "auth.oidc.name_claim",
    flag: "",
    doc: "`preferred_username`",
};

const WEB_DIR: Definition = Definition {
    name: "web_dir",
    env: "GRIMOS_WEB_DIR",
    key: "web_dir",
    flag: "--web-dir",
    doc: "`apps/frontend/dist`",
};
const TLS_CERT: Definition = Definition {
    name: "tls.cert",
    env: "GRIMOS_TLS_CERT",
    key: "tls.cert",
    flag: "--tls-cert",
    doc: "plain HTTP (HTTPS when set together with `tls.key`)",
};
const TLS_KEY: Definition = Definition {
    name: "tls.key",
    env: "GRIMOS_TLS_KEY",
    key: "tls.key",
    flag: "--tls-key",
    doc: "PEM private key of `tls.cert`",
};
const TLS_CLIENT_CA: Definition = Definition {
    name: "tls.client_ca",
    env: "GRIMOS_TLS_CLIENT_CA",
    key: "tls.client_ca",
    flag: "--tls-client-ca",
    doc: "no client certificates (mutual TLS off)",
};
const TLS_CLIENT_AUTH: Definition = Definition {
    name: "tls.client_auth",
    env: "GRIMOS_TLS_CLIENT_AUTH",
    key: "tls.client_auth",
    flag: "",
    doc: "`required` (or `optional`)",
};

/// Every setting, in the order the README's table lists them.
pub const DEFINITIONS: [Definition; 28] = [
    LISTEN,
    DATA_DIR,
    DATABASE_URL,
    LOG_FORMAT,
    LOG_LEVEL,
    REQUEST_TIMEOUT,
    BODY_LIMIT,
    SHUTDOWN_GRACE,
    MAX_CONCURRENT_RUNS,
    DEFAULT_RUN_TIMEOUT,
    WEBHOOK_TOLERANCE,
    SECRETS_ENV_PREFIX,
    SECRETS_FILE_DIRS,
    SECRETS_VAULT_PREFIXES,
    EGRESS_DENY_PRIVATE,
    EGRESS_ALLOW,
    EGRESS_DENY,
    EGRESS_ALLOW_FOR,
    OIDC_ISSUER,
    OIDC_AUDIENCE,
    OIDC_JWKS_URL,
    OIDC_ROLE_CLAIM,
    OIDC_NAME_CLAIM,
    WEB_DIR,
    TLS_CERT,
    TLS_KEY,
    TLS_CLIENT_CA,
    TLS_CLIENT_AUTH,
];

/// Settings read only from the environment or whole tables of the file, after the
/// definitions in the README's table: (setting, environment, default and meaning).
pub const OTHER_SETTINGS: [(&str, &str, &str); 3] = [
    (
        "`[vault]` table",
        "`VAULT_ADDR`, `VAULT_TOKEN`, `VAULT_NAMESPACE`, `VAULT_CACERT`",
        "Vault off (`vault:` references fail)",
    ),
    (
        "first admin's token",
        "`GRIMOS_ADMIN_TOKEN`",
        "generated into `<data_dir>/admin.token`",
    ),
    (
        "master key of the embedded store",
        "`GRIMOS_MASTER_KEY`",
        "generated under `<data_dir>/keys/`",
    ),
];

/// Every key the TOML file may hold (the definitions' keys).
pub fn file_keys() -> Vec<&'static str> {
    DEFINITIONS
        .iter()
        .map(|definition| definition.key)
        .collect()
}

/// The README's configuration table (Markdown), generated from [`DEFINITIONS`] and
/// [`OTHER_SETTINGS`].
pub fn settings_table() -> String {
    let code = |text: &str| {
        if text.is_empty() {
            String::new()
        } else {
            format!("`{text}`")
        }
    };
    let mut table =
        String::from("| setting (TOML key) | flag | environment | default |\n|---|---|---|---|\n");
    for definition in &DEFINITIONS {
        let row = format!(
            "| {} | {} | {} | {} |\n",
            code(definition.key),
            code(definition.flag),
            code(definition.env),
            definition.doc
        );
        table.push_str(&row.replace("|  |", "| |"));
    }
    for (setting, env, doc) in OTHER_SETTINGS {
        table.push_str(&format!("| {setting} | | {env} | {doc} |\n"));
    }
    table
}

/// The environment variable naming the configuration file.
pub const CONFIG_ENV: &str = "GRIMOS_CONFIG";
/// The environment variable holding the first admin's token.
pub const ADMIN_TOKEN_ENV: &str = "GRIMOS_ADMIN_TOKEN";
/// The environment variable holding the embedded store's master key.
pub const MASTER_KEY_ENV: &str = secrets::MASTER_KEY_ENV;
/// Tables of the file read whole by their own parsers.
const FILE_TABLES: [&str; 1] = ["vault"];

struct Resolver<'a> {
    env: &'a dyn Fn(&str) -> Option<String>,
    file: FileValues,
    origins: Vec<(&'static str, Origin)>,
}

impl Resolver<'_> {
    /// The raw value of `definition` and where it came from, by precedence.
    fn raw(
        &mut self,
        definition: &Definition,
        flag: Option<&String>,
        flag_name: &'static str,
    ) -> Option<(String, Origin)> {
        if let Some(value) = flag {
            Some((value.clone(), Origin::Flag(flag_name)))
        } else if let Some(value) = (self.env)(definition.env).filter(|value| !value.is_empty()) {
            Some((value, Origin::Env(definition.env)))
        } else {
            self.file
                .get(definition.key)
                .map(|value| (value, Origin::File(self.file.path().to_path_buf())))
        }
    }

    fn value<T>(
        &mut self,
        definition: &Definition,
        flag: Option<&String>,
        flag_name: &'static str,
        default: impl FnOnce() -> String,
        parse: impl FnOnce(&str) -> Result<T, String>,
    ) -> Result<T, SettingError> {
        let (raw, origin) = self
            .raw(definition, flag, flag_name)
            .unwrap_or_else(|| (default(), Origin::Default));
        let parsed = parse(&raw).map_err(|message| SettingError {
            setting: definition.name.to_owned(),
            origin: origin.clone(),
            message,
        })?;
        self.origins.push((definition.name, origin));
        Ok(parsed)
    }

    fn optional(&mut self, definition: &Definition) -> Option<(String, Origin)> {
        let found = self.raw(definition, None, "");
        if let Some((_, origin)) = &found {
            self.origins.push((definition.name, origin.clone()));
        }
        found
    }
}

/// Resolve the settings from `flags`, the environment (`env` looks a variable up) and the
/// configuration file named by `--config` / `GRIMOS_CONFIG`.
pub fn load(flags: &Flags, env: &dyn Fn(&str) -> Option<String>) -> Result<Settings, SettingError> {
    let config_path = flags
        .config
        .clone()
        .map(|path| (path, Origin::Flag("--config")))
        .or_else(|| {
            env(CONFIG_ENV)
                .filter(|value| !value.is_empty())
                .map(|path| (PathBuf::from(path), Origin::Env(CONFIG_ENV)))
        });
    let file = match config_path {
        Some((path, origin)) => {
            FileValues::read(&path, &file_keys(), &FILE_TABLES).map_err(|message| SettingError {
                setting: "config".to_owned(),
                origin,
                message,
            })?
        }
        None => FileValues::empty(),
    };
    let mut resolver = Resolver {
        env,
        file,
        origins: Vec::new(),
    };

    let listen = resolver.value(
        &LISTEN,
        flags.listen.as_ref(),
        "--listen",
        || "127.0.0.1:8080".to_owned(),
        |raw| {
            raw.parse::<SocketAddr>().map_err(|_| {
                format!(
                    "{raw:?} is not a socket address; expected HOST:PORT such as 127.0.0.1:8080"
                )
            })
        },
    )?;
    let data_dir = resolver.value(
        &DATA_DIR,
        flags.data_dir.as_ref(),
        "--data-dir",
        || "./data".to_owned(),
        |raw| {
            if raw.trim().is_empty() {
                Err("must not be empty".to_owned())
            } else {
                Ok(PathBuf::from(raw))
            }
        },
    )?;
    let default_database = default_database_url(&data_dir);
    let database_url = resolver.value(
        &DATABASE_URL,
        flags.database_url.as_ref(),
        "--database-url",
        || default_database,
        parse_database_url,
    )?;
    let log_format = resolver.value(
        &LOG_FORMAT,
        flags.log_format.as_ref(),
        "--log-format",
        || "json".to_owned(),
        |raw| raw.parse::<LogFormat>(),
    )?;
    let log_level = resolver.value(
        &LOG_LEVEL,
        flags.log_level.as_ref(),
        "--log-level",
        || "info".to_owned(),
        |raw| {
            tracing_subscriber::EnvFilter::try_new(raw)
                .map(|_| raw.to_owned())
                .map_err(|error| {
                    format!(
                        "{raw:?} is not a log filter ({error}); try info, debug or info,sqlx=warn"
                    )
                })
        },
    )?;
    let request_timeout = resolver.value(
        &REQUEST_TIMEOUT,
        None,
        "",
        || "30".to_owned(),
        |raw| parse_bounded(raw, 1, 3600, "seconds").map(Duration::from_secs),
    )?;
    let body_limit_bytes = resolver.value(
        &BODY_LIMIT,
        None,
        "",
        || (2 * 1024 * 1024).to_string(),
        |raw| {
            parse_bounded(raw, 1024, 1024 * 1024 * 1024, "bytes")
                .and_then(|value| usize::try_from(value).map_err(|error| error.to_string()))
        },
    )?;
    let shutdown_grace = resolver.value(
        &SHUTDOWN_GRACE,
        None,
        "",
        || "30".to_owned(),
        |raw| parse_bounded(raw, 0, 3600, "seconds").map(Duration::from_secs),
    )?;
    let max_concurrent_runs = resolver.value(
        &MAX_CONCURRENT_RUNS,
        None,
        "",
        || "4".to_owned(),
        |raw| {
            parse_bounded(raw, 1, 256, "runs")
                .and_then(|value| usize::try_from(value).map_err(|error| error.to_string()))
        },
    )?;
    let default_run_timeout = resolver.value(
        &DEFAULT_RUN_TIMEOUT,
        None,
        "",
        || "3600".to_owned(),
        |raw| parse_bounded(raw, 1, 7 * 24 * 3600, "seconds").map(Duration::from_secs),
    )?;
    let webhook_tolerance = resolver.value(
        &WEBHOOK_TOLERANCE,
        None,
        "",
        || "300".to_owned(),
        |raw| parse_bounded(raw, 1, 3600, "seconds").map(Duration::from_secs),
    )?;
    let secret_references = resolve_secret_references(&mut resolver, &data_dir)?;
    let egress = resolve_egress(&mut resolver)?;

    let web_dir = resolver.value(
        &WEB_DIR,
        flags.web_dir.as_ref(),
        "--web-dir",
        || "apps/frontend/dist".to_owned(),
        |raw| Ok(PathBuf::from(raw)),
    )?;
    let admin_token = match env(ADMIN_TOKEN_ENV).filter(|value| !value.is_empty()) {
        Some(token) => {
            validate_admin_token(&token).map_err(|message| SettingError {
                setting: "admin_token".to_owned(),
                origin: Origin::Env(ADMIN_TOKEN_ENV),
                message,
            })?;
            resolver
                .origins
                .push(("admin_token", Origin::Env(ADMIN_TOKEN_ENV)));
            Some(SecretValue::new(token))
        }
        None => None,
    };
    let master_key = match env(MASTER_KEY_ENV).filter(|value| !value.is_empty()) {
        Some(text) => {
            let text = SecretValue::new(text);
            secrets::MasterKey::parse(text.expose()).map_err(|error| SettingError {
                setting: "master_key".to_owned(),
                origin: Origin::Env(MASTER_KEY_ENV),
                message: format!("{error}; expected 32 bytes as 64 hex digits or base64"),
            })?;
            resolver
                .origins
                .push(("master_key", Origin::Env(MASTER_KEY_ENV)));
            Some(text)
        }
        None => None,
    };
    let oidc = resolve_oidc(&mut resolver)?;
    let vault = resolve_vault(&mut resolver)?;
    let tls = resolve_tls(&mut resolver, flags)?;
    Ok(Settings {
        listen,
        data_dir,
        database_url,
        log_format,
        log_level,
        request_timeout,
        body_limit_bytes,
        shutdown_grace,
        max_concurrent_runs,
        default_run_timeout,
        webhook_tolerance,
        secret_references,
        egress,
        web_dir,
        admin_token,
        master_key,
        vault,
        oidc,
        tls,
        origins: resolver.origins,
    })
}

/// A list setting: a TOML array of strings in the file, or comma-separated text in the
/// environment. Empty items are dropped.
fn parse_list(raw: &str) -> Result<Vec<String>, String> {
    let trimmed = raw.trim();
    if trimmed.starts_with('[') {
        let value: toml::Value = toml::from_str(&format!("list = {trimmed}"))
            .map_err(|_| format!("{trimmed:?} is not a list of strings"))?;
        return value
            .get("list")
            .and_then(toml::Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|item| {
                        item.as_str()
                            .map(|text| text.trim().to_owned())
                            .ok_or_else(|| format!("{item} is not a string"))
                    })
                    .filter(|item| item.as_ref().map_or(true, |text| !text.is_empty()))
                    .collect()
            })
            .unwrap_or_else(|| Err(format!("{trimmed:?} is not a list of strings")));
    }
    Ok(trimmed
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect())
}

fn parse_networks(raw: &str) -> Result<Vec<ipnet::IpNet>, String> {
    parse_list(raw)?
        .into_iter()
        .map(|item| parse_network(&item))
        .collect()
}

/// A CIDR range (`10.0.0.0/8`, `fd00::/8`) or a single address (`192.0.2.7`).
fn parse_network(item: &str) -> Result<ipnet::IpNet, String> {
    item.parse::<ipnet::IpNet>()
        .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map(|network| network.trunc())
        .map_err(|_| {
            format!(
                "{item:?} is not an address range; expected CIDR such as 10.0.0.0/8 or an address"
            )
        })
}

fn resolve_secret_references(
    resolver: &mut Resolver<'_>,
    data_dir: &Path,
) -> Result<SecretReferenceSettings, SettingError> {
    let env_prefix = resolver.value(
        &SECRETS_ENV_PREFIX,
        None,
        "",
        || "GRIMOS_SECRET_".to_owned(),
        |raw| {
            let valid = raw.len() >= 3
                && raw
                    .chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
            if valid {
                Ok(raw.to_owned())
            } else {
                Err(format!(
                    "{raw:?} is not an environment variable prefix; expected at least 3 of A-Z, 0-9, _ (such as GRIMOS_SECRET_)"
                ))
            }
        },
    )?;
    let default_dirs = format!("/run/secrets,{}", data_dir.join("secrets").display());
    let file_dirs = resolver.value(
        &SECRETS_FILE_DIRS,
        None,
        "",
        || default_dirs,
        |raw| {
            parse_list(raw)?
                .into_iter()
                .map(|dir| {
                    // A relative directory (the default `./data/secrets`) is taken from
                    // the working directory, as the data directory is.
                    let path = PathBuf::from(&dir);
                    if path.is_absolute() {
                        Ok(path)
                    } else {
                        std::env::current_dir()
                            .map(|current| current.join(&path))
                            .map_err(|error| format!("{dir:?} cannot be made absolute: {error}"))
                    }
                })
                .collect()
        },
    )?;
    let vault_prefixes = resolver.value(
        &SECRETS_VAULT_PREFIXES,
        None,
        "",
        String::new,
        |raw| {
            parse_list(raw)?
                .into_iter()
                .map(|prefix| {
                    let prefix = prefix.trim_start_matches("vault:").to_owned();
                    if prefix.is_empty()
                        || prefix.starts_with('/')
                        || prefix.split('/').any(|segment| segment == "..")
                    {
                        Err(format!(
                            "{prefix:?} is not a Vault path prefix; expected mount/path such as secret/grimos/"
                        ))
                    } else {
                        Ok(prefix)
                    }
                })
                .collect()
        },
    )?;
    Ok(SecretReferenceSettings {
        env_prefix,
        file_dirs,
        vault_prefixes,
    })
}

fn resolve_egress(resolver: &mut Resolver<'_>) -> Result<EgressSettings, SettingError> {
    let deny_private = resolver.value(
        &EGRESS_DENY_PRIVATE,
        None,
        "",
        || "false".to_owned(),
        |raw| match raw {
            "true" | "1" | "yes" => Ok(true),
            "false" | "0" | "no" => Ok(false),
            other => Err(format!(
                "{other:?} is not a boolean; expected true or false"
            )),
        },
    )?;
    let allow = resolver.value(&EGRESS_ALLOW, None, "", String::new, parse_networks)?;
    let deny = resolver.value(&EGRESS_DENY, None, "", String::new, parse_networks)?;
    let allow_for = resolver.value(&EGRESS_ALLOW_FOR, None, "", String::new, |raw| {
        parse_list(raw)?
            .into_iter()
            .map(|item| {
                let (connector_type, network) = item.split_once('=').ok_or_else(|| {
                    format!("{item:?} is not TYPE=RANGE; expected e.g. sql=10.0.0.0/8")
                })?;
                let connector_type = connector_type.trim();
                if connector_type.is_empty()
                    || !connector_type.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-'
                    })
                {
                    return Err(format!("{connector_type:?} is not a connector type name"));
                }
                Ok((connector_type.to_owned(), parse_network(network.trim())?))
            })
            .collect()
    })?;
    Ok(EgressSettings {
        deny_private,
        allow,
        deny,
        allow_for,
    })
}

fn resolve_oidc(resolver: &mut Resolver<'_>) -> Result<Option<OidcSettings>, SettingError> {
    let issuer = resolver.optional(&OIDC_ISSUER);
    let audience = resolver.optional(&OIDC_AUDIENCE);
    let jwks_url = resolver.optional(&OIDC_JWKS_URL);
    let role_claim = resolver.optional(&OIDC_ROLE_CLAIM);
    let name_claim = resolver.optional(&OIDC_NAME_CLAIM);
    let any_given = [&issuer, &audience, &jwks_url, &role_claim, &name_claim]
        .iter()
        .any(|value| value.is_some());
    if !any_given {
        return Ok(None);
    }
    let required = |value: Option<(String, Origin)>, definition: &Definition| {
        value.ok_or_else(|| SettingError {
            setting: definition.name.to_owned(),
            origin: Origin::Default,
            message: format!(
                "is required when OIDC is configured (set {} or the [auth.oidc] key {})",
                definition.env,
                definition.key.trim_start_matches("auth.oidc.")
            ),
        })
    };
    let issuer = required(issuer, &OIDC_ISSUER)?;
    let audience = required(audience, &OIDC_AUDIENCE)?;
    let (jwks_url, jwks_origin) = required(jwks_url, &OIDC_JWKS_URL)?;
    if !(jwks_url.starts_with("https://") || jwks_url.starts_with("http://")) {
        return Err(SettingError {
            setting: OIDC_JWKS_URL.name.to_owned(),
            origin: jwks_origin,
            message: format!("{jwks_url:?} is not an http(s) URL"),
        });
    }
    Ok(Some(OidcSettings {
        issuer: issuer.0,
        audience: audience.0,
        jwks_url,
        role_claim: role_claim.map_or_else(|| "grimos_role".to_owned(), |value| value.0),
        name_claim: name_claim.map_or_else(|| "preferred_username".to_owned(), |value| value.0),
    }))
}

fn resolve_tls(
    resolver: &mut Resolver<'_>,
    flags: &Flags,
) -> Result<Option<TlsSettings>, SettingError> {
    let cert = resolver.raw(&TLS_CERT, flags.tls_cert.as_ref(), "--tls-cert");
    let key = resolver.raw(&TLS_KEY, flags.tls_key.as_ref(), "--tls-key");
    let client_ca = resolver.raw(
        &TLS_CLIENT_CA,
        flags.tls_client_ca.as_ref(),
        "--tls-client-ca",
    );
    let client_auth = resolver.raw(&TLS_CLIENT_AUTH, None, "");
    let (cert, key) = match (cert, key) {
        (None, None) => {
            if let Some((_, origin)) = client_ca.or(client_auth) {
                return Err(SettingError {
                    setting: "tls.client_ca".to_owned(),
                    origin,
                    message: "mutual TLS needs HTTPS: set --tls-cert and --tls-key too".to_owned(),
                });
            }
            return Ok(None);
        }
        (Some(_), None) | (None, Some(_)) => {
            return Err(SettingError {
                setting: "tls.cert".to_owned(),
                origin: Origin::Default,
                message: "--tls-cert and --tls-key go together: set both or neither".to_owned(),
            });
        }
        (Some(cert), Some(key)) => (cert, key),
    };
    let mut existing_file = |(path, origin): (String, Origin), definition: &Definition| {
        if std::path::Path::new(&path).is_file() {
            resolver.origins.push((definition.name, origin));
            Ok(PathBuf::from(path))
        } else {
            Err(SettingError {
                setting: definition.name.to_owned(),
                origin,
                message: format!("{path:?} is not a readable file"),
            })
        }
    };
    let cert = existing_file(cert, &TLS_CERT)?;
    let key = existing_file(key, &TLS_KEY)?;
    let client_ca = client_ca
        .map(|value| existing_file(value, &TLS_CLIENT_CA))
        .transpose()?;
    let client_auth = match client_auth {
        None => ClientAuth::Required,
        Some((value, origin)) => match value.as_str() {
            "required" => ClientAuth::Required,
            "optional" => ClientAuth::Optional,
            other => {
                return Err(SettingError {
                    setting: TLS_CLIENT_AUTH.name.to_owned(),
                    origin,
                    message: format!(
                        "{other:?} is not a client auth mode; expected required or optional"
                    ),
                });
            }
        },
    };
    Ok(Some(TlsSettings {
        cert,
        key,
        client_ca,
        client_auth,
    }))
}

fn resolve_vault(resolver: &mut Resolver<'_>) -> Result<Option<VaultConfig>, SettingError> {
    if let Some(table) = resolver.file.table("vault") {
        let origin = Origin::File(resolver.file.path().to_path_buf());
        let config: VaultConfig =
            toml::Value::Table(table.clone())
                .try_into()
                .map_err(|error: toml::de::Error| SettingError {
                    setting: "vault".to_owned(),
                    origin: origin.clone(),
                    message: format!("the [vault] table is invalid: {}", error.message()),
                })?;
        resolver.origins.push(("vault", origin));
        return Ok(Some(config));
    }
    if (resolver.env)("VAULT_ADDR").is_none_or(|value| value.trim().is_empty()) {
        return Ok(None);
    }
    let config =
        VaultConfig::from_lookup(|name| (resolver.env)(name)).map_err(|error| SettingError {
            setting: "vault".to_owned(),
            origin: Origin::Env("VAULT_ADDR"),
            message: error.message().to_owned(),
        })?;
    resolver.origins.push(("vault", Origin::Env("VAULT_ADDR")));
    Ok(Some(config))
}

/// The default database: `grimos.db` in the data directory.
pub fn default_database_url(data_dir: &Path) -> String {
    format!("sqlite://{}", data_dir.join("grimos.db").display())
}

fn parse_database_url(raw: &str) -> Result<String, String> {
    let supported = ["sqlite:", "postgres://", "postgresql://"];
    if supported.iter().any(|prefix| raw.starts_with(prefix)) {
        Ok(raw.to_owned())
    } else {
        Err(format!(
            "{:?} is not a supported database URL; expected sqlite://PATH or postgres://USER@HOST:PORT/DB",
            redact_url_password(raw)
        ))
    }
}

fn parse_bounded(raw: &str, min: u64, max: u64, unit: &str) -> Result<u64, String> {
    let value: u64 = raw
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a whole number of {unit}"))?;
    if value < min || value > max {
        return Err(format!(
            "{value} is out of range; expected {min} to {max} {unit}"
        ));
    }
    Ok(value)
}

fn validate_admin_token(token: &str) -> Result<(), String> {
    let body = token
        .strip_prefix(kernel::API_TOKEN_PREFIX)
        .ok_or("must start with grm_")?;
    let allowed = body
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if body.len() < 32 || !allowed {
        return Err(
            "must be grm_ followed by at least 32 characters of letters, digits, '-' or '_'"
                .to_owned(),
        );
    }
    Ok(())
}

impl Settings {
    /// The effective configuration as TOML, secrets redacted, each value's source in a
    /// comment.
    pub fn show(&self) -> String {
        let origin = |name: &str| {
            self.origins
                .iter()
                .find(|(key, _)| *key == name)
                .map_or(Origin::Default, |(_, origin)| origin.clone())
        };
        let line = |key: &str, value: String| format!("{key} = {value:<40} # {}\n", origin(key));
        let quoted = |text: &str| format!("{text:?}");
        let mut out = String::from(
            "# grimOS effective configuration (secrets redacted; source of each value after #)\n",
        );
        out.push_str(&line("listen", quoted(&self.listen.to_string())));
        out.push_str(&line(
            "data_dir",
            quoted(&self.data_dir.display().to_string()),
        ));
        out.push_str(&line(
            "database_url",
            quoted(&redact_url_password(&self.database_url)),
        ));
        out.push_str(&line("log_format", quoted(&self.log_format.to_string())));
        out.push_str(&line("log_level", quoted(&self.log_level)));
        out.push_str(&line(
            "request_timeout_secs",
            self.request_timeout.as_secs().to_string(),
        ));
        out.push_str(&line("body_limit_bytes", self.body_limit_bytes.to_string()));
        out.push_str(&line(
            "shutdown_grace_secs",
            self.shutdown_grace.as_secs().to_string(),
        ));
        out.push_str(&line(
            "flows.max_concurrent_runs",
            self.max_concurrent_runs.to_string(),
        ));
        out.push_str(&line(
            "flows.default_run_timeout_secs",
            self.default_run_timeout.as_secs().to_string(),
        ));
        out.push_str(&line(
            "flows.webhook_tolerance_secs",
            self.webhook_tolerance.as_secs().to_string(),
        ));
        let list = |items: Vec<String>| {
            format!(
                "[{}]",
                items
                    .iter()
                    .map(|item| format!("{item:?}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        let references = &self.secret_references;
        out.push_str(&line("secrets.env_prefix", quoted(&references.env_prefix)));
        out.push_str(&line(
            "secrets.file_dirs",
            list(
                references
                    .file_dirs
                    .iter()
                    .map(|dir| dir.display().to_string())
                    .collect(),
            ),
        ));
        out.push_str(&line(
            "secrets.vault_prefixes",
            list(references.vault_prefixes.clone()),
        ));
        out.push_str(&line(
            "egress.deny_private",
            self.egress.deny_private.to_string(),
        ));
        out.push_str(&line(
            "egress.allow",
            list(self.egress.allow.iter().map(ToString::to_string).collect()),
        ));
        out.push_str(&line(
            "egress.deny",
            list(self.egress.deny.iter().map(ToString::to_string).collect()),
        ));
        out.push_str(&line(
            "egress.allow_for",
            list(
                self.egress
                    .allow_for
                    .iter()
                    .map(|(connector_type, network)| format!("{connector_type}={network}"))
                    .collect(),
            ),
        ));
        out.push_str(&line(
            "web_dir",
            quoted(&self.web_dir.display().to_string()),
        ));
        out.push_str(&format!(
            "# admin_token: {}\n",
            if self.admin_token.is_some() {
                "set from GRIMOS_ADMIN_TOKEN (redacted)"
            } else {
                "not set"
            }
        ));
        out.push_str(&format!(
            "# master_key: {}\n",
            if self.master_key.is_some() {
                "set from GRIMOS_MASTER_KEY (redacted)"
            } else {
                "key files in <data_dir>/keys"
            }
        ));
        match &self.vault {
            Some(vault) => out.push_str(&format!(
                "# vault: {} (namespace {}, auth {}) from {}\n",
                vault.address,
                vault.namespace.as_deref().unwrap_or("none"),
                vault_auth_name(&vault.auth),
                origin("vault")
            )),
            None => out.push_str("# vault: not configured (vault: references fail)\n"),
        }
        match &self.tls {
            Some(tls) => {
                out.push_str("\n[tls]\n");
                out.push_str(&format!(
                    "cert = {:<40} # {}\n",
                    quoted(&tls.cert.display().to_string()),
                    origin("tls.cert")
                ));
                out.push_str(&format!(
                    "key = {:<40} # {}\n",
                    quoted(&tls.key.display().to_string()),
                    origin("tls.key")
                ));
                if let Some(client_ca) = &tls.client_ca {
                    out.push_str(&format!(
                        "client_ca = {:<40} # {}\n",
                        quoted(&client_ca.display().to_string()),
                        origin("tls.client_ca")
                    ));
                    out.push_str(&format!(
                        "client_auth = {}\n",
                        quoted(match tls.client_auth {
                            ClientAuth::Required => "required",
                            ClientAuth::Optional => "optional",
                        })
                    ));
                }
            }
            None => out.push_str("# [tls]: off (plain HTTP)\n"),
        }
        match &self.oidc {
            Some(oidc) => {
                out.push_str("\n[auth.oidc]\n");
                let oidc_line = |key: &str, value: &str| {
                    format!(
                        "{key} = {:<40} # {}\n",
                        quoted(value),
                        origin(&format!("auth.oidc.{key}"))
                    )
                };
                out.push_str(&oidc_line("issuer", &oidc.issuer));
                out.push_str(&oidc_line("audience", &oidc.audience));
                out.push_str(&oidc_line("jwks_url", &oidc.jwks_url));
                out.push_str(&oidc_line("role_claim", &oidc.role_claim));
                out.push_str(&oidc_line("name_claim", &oidc.name_claim));
            }
            None => out.push_str("# [auth.oidc]: not configured\n"),
        }
        out
    }
}

fn vault_auth_name(auth: &secrets::vault::VaultAuth) -> &'static str {
    match auth {
        secrets::vault::VaultAuth::Token { .. } => "token",
        secrets::vault::VaultAuth::AppRole { .. } => "approle",
        secrets::vault::VaultAuth::Kubernetes { .. } => "kubernetes",
    }
}

#[cfg(test)]
mod tests;
