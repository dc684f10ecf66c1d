//! Building and serving the platform.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use api::auth::SharedAuthenticator;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use connectors::ConnectorRegistry;
use identity::bootstrap::{BootstrapOutcome, bootstrap_admin};
use identity::{IdentityAuthenticator, IdentityState, OidcVerifier};
use interop::InteropState;
use secrets_service::routes::SecretsState;
use settings::Settings;
use storage::{Database, PoolSettings};
use telemetry::MetricsRegistry;
use tokio::net::TcpListener;
use tower_http::timeout::TimeoutLayer;
use utoipa::OpenApi as _;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::health;
use crate::metrics_endpoint::{self, MetricsState};
use crate::openapi::ApiDoc;

/// Why the platform could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The data directory cannot be created or used.
    #[error("cannot use the data directory {path}: {source}")]
    DataDir {
        /// The directory.
        path: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The database cannot be opened, migrated or bootstrapped.
    #[error("database: {0}")]
    Database(kernel::Error),
    /// The TLS certificate, key or client CA is unusable.
    #[error(transparent)]
    Tls(#[from] crate::tls::TlsError),
    /// Telemetry could not be set up.
    #[error("telemetry: {0}")]
    Telemetry(#[from] telemetry::TelemetryError),
}

/// The assembled platform, ready to serve.
pub struct Platform {
    router: Router,
    db: Database,
    interop: InteropState,
    shutdown_grace: Duration,
    tls: Option<Arc<rustls::ServerConfig>>,
}

impl Platform {
    /// Open the database (creating the data directory), apply migrations, bootstrap the
    /// first admin, and compose every service's routes behind the middleware stack.
    pub async fn build(settings: &Settings) -> Result<Self, StartupError> {
        let started = Instant::now();
        let tls = settings
            .tls
            .as_ref()
            .map(crate::tls::server_config)
            .transpose()?;
        create_data_dir(&settings.data_dir)?;
        let db = Database::connect(&settings.database_url, &PoolSettings::default())
            .await
            .map_err(StartupError::Database)?;
        db.migrate().await.map_err(StartupError::Database)?;
        let admin_token = settings.admin_token.as_ref().map(|token| token.expose());
        match bootstrap_admin(&db, &settings.data_dir, admin_token)
            .await
            .map_err(StartupError::Database)?
        {
            BootstrapOutcome::AlreadyDone => {}
            BootstrapOutcome::CreatedWithSuppliedToken => {
                tracing::info!(
                    "created the first admin user with the token from GRIMOS_ADMIN_TOKEN"
                );
            }
            BootstrapOutcome::CreatedWithTokenFile(path) => {
                tracing::info!(path = %path.display(), "created the first admin user; its API token is in this file (mode 0600)");
            }
        }
        let secret_store = Arc::new(
            secrets_service::open_local_store(
                &db,
                &settings.data_dir,
                settings.master_key.as_ref().map(|key| key.expose()),
            )
            .map_err(StartupError::Database)?,
        );
        let resolver = Arc::new(secret_resolver(settings, (*secret_store).clone())?);
        let connector_secrets: Arc<dyn connector_sdk::SecretSource> =
            Arc::new(connectors::ResolverSecretSource::new(resolver));
        let registry = MetricsRegistry::install()?;
        let http_client = reqwest::Client::builder()
            .user_agent(concat!("grimos/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|error| StartupError::Database(kernel::Error::internal(error)))?;
        let oidc = settings
            .oidc
            .clone()
            .map(|oidc| OidcVerifier::new(oidc_settings(oidc), http_client.clone()));
        let authenticator: SharedAuthenticator =
            Arc::new(IdentityAuthenticator::new(db.clone(), oidc));
        let authz = authz::Authz::open(db.clone())
            .await
            .map_err(StartupError::Database)?;
        // Other servers on the same database commit relationships too: catch up every second
        // (a check that names a newer revision catches up at once).
        authz.keep_fresh(std::time::Duration::from_secs(1));
        // Secret use is decided by the authorization service (`secret:<reference>#user@…`);
        // `/api/v1/secret-grants` is a view over those relationships.
        let secret_authorizer: authz::SharedAuthorizer = Arc::new(authz.clone());
        let secret_grants = secret_access::SqlSecretGrants::new(db.clone())
            .with_authorizer(secret_authorizer.clone());
        let mut access = interop::ConnectorAccess::new(
            connector_registry(),
            connector_secrets,
            Arc::new(secret_access::AuthzSecretUse::new(secret_authorizer)),
        )
        .with_egress(egress_policy(settings));
        if let Some(platform_database) = platform_database(&db).await? {
            access = access.with_platform_database(platform_database);
        }
        let interop = InteropState::new(
            db.clone(),
            access,
            interop::RunSettings {
                max_concurrent_runs: settings.max_concurrent_runs,
                default_run_timeout: Some(settings.default_run_timeout),
                webhook_tolerance: settings.webhook_tolerance,
                ..interop::RunSettings::default()
            },
        );
        interop.start().await.map_err(StartupError::Database)?;
        let router = compose(
            settings,
            Services {
                db: db.clone(),
                registry,
                secret_store,
                secret_grants,
                interop: interop.clone(),
                authz: authz.clone(),
            },
            authenticator,
        );
        tracing::info!(
            backend = db.backend().as_str(),
            elapsed_ms = started.elapsed().as_millis() as u64,
            "platform built"
        );
        Ok(Self {
            router,
            db,
            interop,
            shutdown_grace: settings.shutdown_grace,
            tls,
        })
    }

    /// The composed router (for tests that drive it without a socket).
    pub fn router(&self) -> Router {
        self.router.clone()
    }

    /// Whether the server answers HTTPS.
    pub fn serves_tls(&self) -> bool {
        self.tls.is_some()
    }

    /// The database handle.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Serve on `listener` until `shutdown` resolves (SIGTERM in the binary); then stop
    /// accepting connections and, within the grace period, let in-flight requests finish
    /// while the flow runs stop at their next batch boundary (they are released to be
    /// resumed from their checkpoint by the next server to start, or by another server on
    /// the same database). What is still going when the grace period ends is stopped.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        let grace = self.shutdown_grace;
        let (stopping_sender, stopping) = tokio::sync::watch::channel(false);
        let signal = async move {
            shutdown.await;
            let _ = stopping_sender.send(true);
        };
        // The runs stop alongside the requests; also when the listener fails (the signal
        // future, and with it the sender, is then dropped).
        let interop = self.interop.clone();
        let mut runs_stopping = stopping.clone();
        let runs_stopped = tokio::spawn(async move {
            let _ = runs_stopping.wait_for(|stopping| *stopping).await;
            tracing::info!(
                grace_secs = grace.as_secs(),
                "stopping: flow runs stop at their next batch boundary"
            );
            interop.shutdown(grace).await;
        });
        let result = if let Some(config) = self.tls {
            crate::tls::serve(listener, self.router, config, signal, grace).await
        } else {
            let server = axum::serve(listener, self.router).with_graceful_shutdown(signal);
            let mut requests_stopping = stopping;
            let grace_expired = async move {
                let _ = requests_stopping.wait_for(|stopping| *stopping).await;
                tokio::time::sleep(grace).await;
            };
            tokio::select! {
                result = server.into_future() => result,
                () = grace_expired => {
                    tracing::warn!(grace_secs = grace.as_secs(), "in-flight requests did not finish within the grace period; stopping anyway");
                    Ok(())
                }
            }
        };
        if let Err(error) = runs_stopped.await {
            tracing::error!(error = %error, "stopping the flow runs failed");
        }
        self.db.close().await;
        tracing::info!("server stopped");
        result
    }
}

fn create_data_dir(path: &std::path::Path) -> Result<(), StartupError> {
    let error = |source| StartupError::DataDir {
        path: path.display().to_string(),
        source,
    };
    std::fs::create_dir_all(path).map_err(error)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let metadata = std::fs::metadata(path).map_err(error)?;
        let mode = metadata.permissions().mode();
        if mode & 0o077 != 0
            && std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700)).is_err()
        {
            tracing::warn!(path = %path.display(), "the data directory is readable by others and its mode could not be changed");
        }
    }
    Ok(())
}

fn health_routes() -> OpenApiRouter<Database> {
    OpenApiRouter::new()
        .routes(routes!(health::livez))
        .routes(routes!(health::readyz))
}

fn metrics_routes() -> OpenApiRouter<MetricsState> {
    OpenApiRouter::new().routes(routes!(metrics_endpoint::metrics))
}

/// The OpenAPI document of every route, without a running server (for `grimos openapi`
/// and client generation). It equals what `GET /api/openapi.json` serves.
pub fn openapi_document() -> utoipa::openapi::OpenApi {
    let mut document = ApiDoc::openapi();
    document.merge(identity::routes::router().split_for_parts().1);
    document.merge(secrets_service::routes::router().split_for_parts().1);
    document.merge(secret_access::routes::router().split_for_parts().1);
    document.merge(authz::routes::router().split_for_parts().1);
    document.merge(interop::routes::router().split_for_parts().1);
    document.merge(health_routes().split_for_parts().1);
    document.merge(metrics_routes().split_for_parts().1);
    crate::openapi::finish(&mut document);
    document
}

/// What the routers are built over.
struct Services {
    db: Database,
    registry: MetricsRegistry,
    secret_store: Arc<secrets::LocalSecretStore>,
    secret_grants: secret_access::SqlSecretGrants,
    interop: InteropState,
    authz: authz::Authz,
}

/// The connector types this build of grimOS offers.
pub fn connector_registry() -> ConnectorRegistry {
    connectors::builtin_registry()
}

/// The OIDC verifier's settings, from the `auth.oidc.*` settings.
fn oidc_settings(oidc: settings::OidcSettings) -> identity::OidcSettings {
    identity::OidcSettings {
        issuer: oidc.issuer,
        audience: oidc.audience,
        jwks_url: oidc.jwks_url,
        role_claim: oidc.role_claim,
        name_claim: oidc.name_claim,
    }
}

/// The egress policy of connectors and notifications, from the `egress.*` settings.
fn egress_policy(settings: &Settings) -> egress::EgressPolicy {
    let egress = &settings.egress;
    egress::EgressPolicy::new(egress::EgressRules {
        deny_private: egress.deny_private,
        allow: egress.allow.clone(),
        deny: egress.deny.clone(),
        allow_for: egress.allow_for.clone(),
    })
}

/// The identity of the platform's own database (its `grimos_instance` id, and the SQLite
/// file), which connectors may not open.
async fn platform_database(
    db: &Database,
) -> Result<Option<connector_sdk::PlatformDatabase>, StartupError> {
    let read = async {
        storage::with_conn!(db, |conn| {
            sqlx::query_scalar("SELECT id FROM grimos_instance")
                .fetch_optional(conn)
                .await
        })
        .map_err(storage::map_sqlx_error)
    };
    let instance_id: Option<String> = read.await.map_err(StartupError::Database)?;
    let Some(instance_id) = instance_id else {
        return Ok(None);
    };
    let sqlite_file = db
        .sqlite_file()
        .map(|path| std::fs::canonicalize(&path).unwrap_or(path));
    Ok(Some(connector_sdk::PlatformDatabase {
        instance_id,
        sqlite_file,
    }))
}

/// The resolver of secret references: the embedded store for `local:`, Vault/OpenBao for
/// `vault:` when configured (within `secrets.vault_prefixes`), the environment for `env:`
/// (names starting with `secrets.env_prefix`), and files under `secrets.file_dirs` for
/// `file:`.
fn secret_resolver(
    settings: &Settings,
    local: secrets::LocalSecretStore,
) -> Result<secrets::SecretResolver, StartupError> {
    let references = &settings.secret_references;
    let mut builder = secrets::SecretResolver::builder()
        .local_store(local)
        .env_prefix(references.env_prefix.clone());
    for directory in &references.file_dirs {
        builder = builder.allow_file_root(directory);
    }
    for prefix in &references.vault_prefixes {
        builder = builder.allow_vault_prefix(prefix.clone());
    }
    if let Some(vault) = &settings.vault {
        let client = secrets::VaultClient::new(vault.clone()).map_err(|error| {
            StartupError::Database(kernel::Error::new(
                kernel::ErrorKind::Validation,
                "vault",
                format!("Vault/OpenBao: {error}"),
            ))
        })?;
        builder = builder.vault(client);
    }
    Ok(builder.build())
}

fn compose(settings: &Settings, services: Services, authenticator: SharedAuthenticator) -> Router {
    let Services {
        db,
        registry,
        secret_store,
        secret_grants,
        interop,
        authz,
    } = services;
    let authorizer: authz::SharedAuthorizer = Arc::new(authz.clone());
    let (router, document) = OpenApiRouter::with_openapi(ApiDoc::openapi())
        .merge(identity::routes::router().with_state(IdentityState { db: db.clone() }))
        .merge(health_routes().with_state(db.clone()))
        .merge(secrets_service::routes::router().with_state(SecretsState {
            store: secret_store,
        }))
        .merge(secret_access::routes::router().with_state(secret_grants))
        .merge(authz::routes::router().with_state(authz))
        .merge(interop::routes::router().with_state(interop))
        .merge(metrics_routes().with_state(MetricsState { registry, db }))
        .split_for_parts();
    let mut document = document;
    crate::openapi::finish(&mut document);
    let document_json = Arc::new(document);
    router
        .route(
            "/api/openapi.json",
            get(move || {
                let document = Arc::clone(&document_json);
                async move { axum::Json(document.as_ref().clone()) }
            }),
        )
        .merge(crate::api_docs::router(&settings.web_dir))
        .fallback_service(crate::web_app::router(&settings.web_dir))
        .layer(DefaultBodyLimit::max(settings.body_limit_bytes))
        .layer(TimeoutLayer::with_status_code(
            http::StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(axum::Extension(authenticator))
        .layer(axum::Extension(authorizer))
        .layer(axum::middleware::from_fn(
            api::middleware::problem_responses,
        ))
        .layer(axum::middleware::from_fn(
            telemetry::http_middleware::observe_request,
        ))
}
