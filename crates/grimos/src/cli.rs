//! The command line.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, Parser, Subcommand};
use settings::{Flags, Settings};

/// Exit code for an invalid setting or command line.
const EXIT_USAGE: u8 = 2;
/// Exit code for a failure while running.
const EXIT_FAILURE: u8 = 1;

#[derive(Debug, Parser)]
#[command(name = "grimos", version, about = "The grimOS platform", long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the platform: the HTTP API, its services and (when built) the web app.
    Serve(CommonArgs),
    /// Apply pending database migrations and exit.
    Migrate(CommonArgs),
    /// Print the OpenAPI document of the API (the same as GET /api/openapi.json).
    Openapi,
    /// Use a connector from the command line, like a Singer tap/target: spec, check,
    /// discover, read (JSON lines to stdout), write (JSON lines from stdin).
    Connector {
        #[command(subcommand)]
        command: ConnectorCommand,
    },
    /// Run or check an integration flow defined in a YAML/JSON file, without a server.
    Flow {
        #[command(subcommand)]
        command: FlowCommand,
    },
    /// Manage the embedded encrypted secret store (works beside a running server).
    Secrets {
        #[command(subcommand)]
        command: SecretsCommand,
    },
    /// Test and evaluate Rego v1 policies without a server, like `opa test` / `opa eval`.
    Policy {
        #[command(subcommand)]
        command: PolicyCommand,
    },
    /// Inspect the configuration.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
}

#[derive(Debug, Subcommand)]
enum ConnectorCommand {
    /// Print the JSON Schema of a connector type's configuration.
    Spec {
        /// The connector type: rest or sql.
        #[arg(long = "type", value_name = "TYPE")]
        connector_type: String,
    },
    /// Connect and run the health check.
    Check(ConnectorFileArgs),
    /// Print the streams, fields, types and keys the connector offers.
    Discover(ConnectorFileArgs),
    /// Read records as JSON lines to stdout.
    Read {
        #[command(flatten)]
        file: ConnectorFileArgs,
        /// The stream to read (optional when the config has one).
        #[arg(long)]
        stream: Option<String>,
        /// Resume from the checkpoint in this file.
        #[arg(long, value_name = "FILE")]
        state: Option<PathBuf>,
        /// Write the last checkpoint to this file (atomically, after each batch).
        #[arg(long, value_name = "FILE")]
        state_out: Option<PathBuf>,
    },
    /// Write JSON lines from stdin; a summary goes to stderr.
    Write {
        #[command(flatten)]
        file: ConnectorFileArgs,
        /// The stream to write.
        #[arg(long)]
        stream: String,
        /// insert, upsert, update or delete.
        #[arg(long, default_value = "insert")]
        mode: String,
        /// Write each rejected record with its reason to this file (JSON lines).
        #[arg(long, value_name = "FILE")]
        rejects: Option<PathBuf>,
    },
}

#[derive(Debug, Subcommand)]
enum FlowCommand {
    /// Move the data: read, map, write; prints read/written/rejected, duration and records/s.
    /// The checkpoint is kept in FILE.state.json, rejected records in FILE.rejects.jsonl.
    Run {
        /// The flow file.
        file: PathBuf,
    },
    /// Check the flow file, its connectors and its mapping (against the schemas the
    /// connectors introspect) without moving data.
    Validate {
        /// The flow file.
        file: PathBuf,
    },
}

/// The connector configuration file.
#[derive(Debug, Clone, Args)]
struct ConnectorFileArgs {
    /// The connector's configuration (JSON or YAML, with "type").
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
}

#[derive(Debug, Subcommand)]
enum SecretsCommand {
    /// Store the value read from standard input under NAME (use it as `local:NAME`).
    Set {
        /// The secret's name: letters, digits, '.', '_', '-', '/'.
        name: String,
        #[command(flatten)]
        args: CommonArgs,
    },
    /// List the secrets (names, versions and key ids; never values).
    List(CommonArgs),
    /// Make a new master key current and rewrap every data key under it, without downtime.
    RotateKey(CommonArgs),
    /// Let a user or every holder of a role USE a secret reference (an exact reference or a
    /// prefix ending in `*`) in connectors, flows and notifications.
    Grant {
        /// The reference, e.g. `local:crm-token` or `vault:secret/crm/*`.
        reference: String,
        /// The user (id) it is for.
        #[arg(long, conflicts_with = "role", required_unless_present = "role")]
        user: Option<String>,
        /// The role it is for (admin, operator, viewer, service).
        #[arg(long)]
        role: Option<kernel::Role>,
        #[command(flatten)]
        args: CommonArgs,
    },
    /// List the use grants.
    Grants(CommonArgs),
    /// Revoke the use grant ID.
    Revoke {
        /// The grant's id (see `grimos secrets grants`).
        id: String,
        #[command(flatten)]
        args: CommonArgs,
    },
}

#[derive(Debug, Subcommand)]
enum PolicyCommand {
    /// Compile Rego files and run their `test_*` rules: one PASS/FAIL line per test and a
    /// summary. Exit 0 when all pass, 1 when one fails, 2 when a file does not compile
    /// (printed as FILE:LINE:COLUMN: message).
    Test {
        /// The .rego files (any package).
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
        /// A JSON data document (`data.*` in the policies).
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
    },
    /// Evaluate a query once per line of a JSON-lines file (each line is `input`) and
    /// print one JSON line per input line, in order: {"result": ...}, {} when undefined,
    /// or {"error": {"line", "message"}} for a line that is not JSON or fails. Exit 0 when
    /// every line was evaluated, 1 when a line printed an error, 2 when a policy, the data
    /// or the query does not compile.
    Eval {
        /// A .rego file (repeat for more).
        #[arg(long = "policy", required = true, value_name = "FILE")]
        policies: Vec<PathBuf>,
        /// A JSON data document (`data.*` in the policies).
        #[arg(long, value_name = "FILE")]
        data: Option<PathBuf>,
        /// The query, e.g. data.x.allow (a rule path runs fastest).
        #[arg(long, value_name = "QUERY")]
        query: String,
        /// The JSON-lines file of inputs (`-` for stdin).
        #[arg(long, value_name = "FILE")]
        inputs: PathBuf,
        /// Worker threads [default: the available cores].
        #[arg(long, value_name = "N")]
        threads: Option<usize>,
    },
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Print the effective configuration (flags > environment > file > defaults), secrets
    /// redacted, with the source of every value.
    Show(CommonArgs),
}

/// Settings every command understands. Each flag also has an environment variable and a
/// key in the TOML file given by --config.
#[derive(Debug, Clone, Args)]
struct CommonArgs {
    /// TOML configuration file [env: GRIMOS_CONFIG]
    #[arg(long, value_name = "FILE")]
    config: Option<PathBuf>,
    /// Address to listen on [env: GRIMOS_LISTEN] [default: 127.0.0.1:8080]
    #[arg(long, value_name = "HOST:PORT")]
    listen: Option<String>,
    /// Directory for local state [env: GRIMOS_DATA_DIR] [default: ./data]
    #[arg(long, value_name = "DIR")]
    data_dir: Option<String>,
    /// sqlite://PATH or postgres://... [env: GRIMOS_DATABASE_URL] [default: sqlite in the data dir]
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// json or pretty [env: GRIMOS_LOG_FORMAT] [default: json]
    #[arg(long, value_name = "FORMAT")]
    log_format: Option<String>,
    /// Log filter, e.g. info or info,sqlx=warn [env: GRIMOS_LOG_LEVEL] [default: info]
    #[arg(long, value_name = "FILTER")]
    log_level: Option<String>,
    /// The built web app to serve at / [env: GRIMOS_WEB_DIR] [default: apps/frontend/dist]
    #[arg(long, value_name = "DIR")]
    web_dir: Option<String>,
    /// Serve HTTPS with this PEM certificate chain [env: GRIMOS_TLS_CERT]
    #[arg(long, value_name = "FILE")]
    tls_cert: Option<String>,
    /// The PEM private key of --tls-cert [env: GRIMOS_TLS_KEY]
    #[arg(long, value_name = "FILE")]
    tls_key: Option<String>,
    /// Require client certificates signed by this PEM CA (mutual TLS); a verified
    /// certificate authenticates a `service` principal [env: GRIMOS_TLS_CLIENT_CA]
    #[arg(long, value_name = "FILE")]
    tls_client_ca: Option<String>,
}

impl CommonArgs {
    fn flags(&self) -> Flags {
        Flags {
            config: self.config.clone(),
            listen: self.listen.clone(),
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            log_format: self.log_format.clone(),
            log_level: self.log_level.clone(),
            web_dir: self.web_dir.clone(),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            tls_client_ca: self.tls_client_ca.clone(),
        }
    }

    /// Resolve the settings, or print one clear line and give the usage exit code.
    fn settings(&self) -> Result<Settings, ExitCode> {
        settings::load(&self.flags(), &|name| std::env::var(name).ok()).map_err(|error| {
            eprintln!("grimos: {error}");
            ExitCode::from(EXIT_USAGE)
        })
    }
}

/// Parse the command line and run the command.
pub fn run() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Serve(args) => args.settings().and_then(serve),
        Command::Migrate(args) => args.settings().and_then(migrate),
        Command::Secrets { command } => secrets_command(command),
        Command::Connector { command } => connector_command(command),
        Command::Flow { command } => flow_command(command),
        Command::Policy { command } => match command {
            PolicyCommand::Test { files, data } => crate::policy::test(&files, data.as_deref()),
            PolicyCommand::Eval {
                policies,
                data,
                query,
                inputs,
                threads,
            } => crate::policy::eval(&policies, data.as_deref(), &query, &inputs, threads),
        },
        Command::Openapi => match server::openapi_document().to_pretty_json() {
            Ok(json) => {
                println!("{json}");
                Ok(ExitCode::SUCCESS)
            }
            Err(error) => Err(fail(error)),
        },
        Command::Config {
            command: ConfigCommand::Show(args),
        } => args.settings().map(|settings| {
            print!("{}", settings.show());
            ExitCode::SUCCESS
        }),
    };
    result.unwrap_or_else(|code| code)
}

fn runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|error| {
            eprintln!("grimos: cannot start the async runtime: {error}");
            ExitCode::from(EXIT_FAILURE)
        })
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    tracing::error!(error = %message, "grimos stopped");
    eprintln!("grimos: {message}");
    ExitCode::from(EXIT_FAILURE)
}

fn serve(settings: Settings) -> Result<ExitCode, ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        let started = std::time::Instant::now();
        let guard =
            telemetry::init("grimos", settings.log_format, &settings.log_level).map_err(fail)?;
        let outcome = async {
            let platform = server::Platform::build(&settings).await.map_err(fail)?;
            let listener = tokio::net::TcpListener::bind(settings.listen)
                .await
                .map_err(|error| fail(format!("cannot listen on {}: {error}", settings.listen)))?;
            let address = listener.local_addr().map_err(fail)?;
            let scheme = if platform.serves_tls() {
                "https"
            } else {
                "http"
            };
            tracing::info!(
                address = %address,
                version = env!("CARGO_PKG_VERSION"),
                startup_ms = started.elapsed().as_millis() as u64,
                scheme,
                docs = %format!("{scheme}://{address}/api/docs"),
                "grimos listening"
            );
            platform
                .serve(listener, server::shutdown::signal())
                .await
                .map_err(fail)?;
            Ok(ExitCode::SUCCESS)
        }
        .await;
        guard.shutdown();
        outcome
    })
}

fn migrate(settings: Settings) -> Result<ExitCode, ExitCode> {
    let runtime = runtime()?;
    runtime.block_on(async move {
        let db =
            storage::Database::connect(&settings.database_url, &storage::PoolSettings::default())
                .await
                .map_err(|error| fail(error.message()))?;
        let before = db
            .migration_status()
            .await
            .map_err(|error| fail(error.message()))?;
        db.migrate()
            .await
            .map_err(|error| fail(format!("{error}: {}", source_text(&error))))?;
        if before.pending.is_empty() {
            println!("the database is up to date");
        } else {
            for migration in &before.pending {
                println!("applied {migration}");
            }
        }
        db.close().await;
        Ok(ExitCode::SUCCESS)
    })
}

fn source_text(error: &kernel::Error) -> String {
    std::error::Error::source(error)
        .map(ToString::to_string)
        .unwrap_or_default()
}

fn secrets_command(command: SecretsCommand) -> Result<ExitCode, ExitCode> {
    let args = match &command {
        SecretsCommand::Set { args, .. }
        | SecretsCommand::List(args)
        | SecretsCommand::RotateKey(args)
        | SecretsCommand::Grant { args, .. }
        | SecretsCommand::Grants(args)
        | SecretsCommand::Revoke { args, .. } => args,
    };
    let settings = args.settings()?;
    let runtime = runtime()?;
    runtime.block_on(async move {
        let db =
            storage::Database::connect(&settings.database_url, &storage::PoolSettings::default())
                .await
                .map_err(|error| fail(error.message()))?;
        db.migrate().await.map_err(|error| fail(error.message()))?;
        let master_key = settings.master_key.as_ref().map(|key| key.expose());
        let data_dir = settings.data_dir.as_path();
        let outcome = match command {
            SecretsCommand::Set { name, .. } => {
                let mut value = String::new();
                std::io::Read::read_to_string(&mut std::io::stdin(), &mut value).map_err(
                    |error| {
                        fail(format!(
                            "cannot read the value from standard input: {error}"
                        ))
                    },
                )?;
                let value =
                    secrets::SecretValue::new(value.trim_end_matches(['\n', '\r']).to_owned());
                secrets_service::commands::set(&db, data_dir, master_key, &name, &value)
                    .await
                    .map(|metadata| {
                        println!(
                            "stored local:{} (version {}, key {})",
                            metadata.name, metadata.version, metadata.key_id
                        );
                    })
            }
            SecretsCommand::List(_) => secrets_service::commands::list(&db, data_dir, master_key)
                .await
                .map(|items| {
                    println!("{:<40} {:>7}  {:<16} UPDATED", "NAME", "VERSION", "KEY");
                    for item in items {
                        println!(
                            "{:<40} {:>7}  {:<16} {}",
                            item.name,
                            item.version,
                            item.key_id,
                            item.updated_at.to_rfc3339()
                        );
                    }
                }),
            SecretsCommand::RotateKey(_) => secrets_service::commands::rotate_key(
                &db, data_dir, master_key,
            )
            .await
            .map(|(key_id, report)| {
                println!(
                    "master key {key_id} is now current: {} secrets rewrapped, {} already under it",
                    report.rewrapped, report.already_current
                );
            }),
            SecretsCommand::Grant {
                reference,
                user,
                role,
                ..
            } => {
                let subject = match (user, role) {
                    (Some(id), _) => secret_access::GrantSubject::User { id },
                    (None, Some(role)) => secret_access::GrantSubject::Role { role },
                    (None, None) => {
                        eprintln!("grimos: name the grantee with --user ID or --role ROLE");
                        return Err(ExitCode::from(EXIT_USAGE));
                    }
                };
                secret_access::SqlSecretGrants::new(db.clone())
                    .create(secret_access::NewGrant { reference, subject }, Some("cli"))
                    .await
                    .map(|grant| println!("granted {} ({})", grant.reference, grant.id))
            }
            SecretsCommand::Grants(_) => secret_access::SqlSecretGrants::new(db.clone())
                .list()
                .await
                .map(|grants| {
                    println!("{:<36} {:<40} GRANTEE", "ID", "REFERENCE");
                    for grant in grants {
                        let grantee = match grant.subject {
                            secret_access::GrantSubject::User { id } => format!("user:{id}"),
                            secret_access::GrantSubject::Role { role } => format!("role:{role}"),
                        };
                        println!("{:<36} {:<40} {grantee}", grant.id, grant.reference);
                    }
                }),
            SecretsCommand::Revoke { id, .. } => secret_access::SqlSecretGrants::new(db.clone())
                .delete(&id)
                .await
                .map(|()| println!("revoked {id}")),
        };
        db.close().await;
        match outcome {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(error) if matches!(error.kind(), kernel::ErrorKind::Validation) => {
                eprintln!("grimos: {}", error.message());
                Err(ExitCode::from(EXIT_USAGE))
            }
            Err(error) => Err(fail(error.message())),
        }
    })
}

/// Secret references in connector files resolve from the environment (`env:`), files
/// (`file:`), the embedded store of the default data directory (`local:`) and Vault
/// (`vault:`, through VAULT_ADDR/VAULT_TOKEN), as in the server.
fn cli_secret_source() -> Arc<dyn connector_sdk::SecretSource> {
    let mut builder = secrets::SecretResolver::builder()
        .allow_file_root("/")
        .cache_ttl(std::time::Duration::ZERO);
    if let Ok(vault) = secrets::VaultConfig::from_env()
        && let Ok(client) = secrets::VaultClient::new(vault)
    {
        builder = builder.vault(client);
    }
    Arc::new(connectors::ResolverSecretSource::new(Arc::new(
        builder.build(),
    )))
}

fn connector_command(command: ConnectorCommand) -> Result<ExitCode, ExitCode> {
    let registry = connectors::builtin_registry();
    let runtime = runtime()?;
    let result = runtime.block_on(async {
        let mut stdout = std::io::stdout().lock();
        match command {
            ConnectorCommand::Spec { connector_type } => {
                connectors::cli::spec(&registry, &connector_type, &mut stdout)
            }
            ConnectorCommand::Check(file) => {
                connectors::cli::check(&registry, cli_secret_source(), &file.config, &mut stdout)
                    .await
            }
            ConnectorCommand::Discover(file) => {
                connectors::cli::discover(&registry, cli_secret_source(), &file.config, &mut stdout)
                    .await
            }
            ConnectorCommand::Read {
                file,
                stream,
                state,
                state_out,
            } => connectors::cli::read(
                &registry,
                cli_secret_source(),
                &file.config,
                stream.as_deref(),
                state.as_deref(),
                state_out.as_deref(),
                &mut stdout,
            )
            .await
            .map(drop),
            ConnectorCommand::Write {
                file,
                stream,
                mode,
                rejects,
            } => {
                let mode = connectors::cli::parse_write_mode(&mode)?;
                let stdin = std::io::stdin().lock();
                let mut stderr = std::io::stderr().lock();
                connectors::cli::write(
                    &registry,
                    cli_secret_source(),
                    &file.config,
                    &stream,
                    mode,
                    stdin,
                    rejects.as_deref(),
                    &mut stderr,
                )
                .await
                .map(drop)
            }
        }
    });
    match result {
        Ok(()) => Ok(ExitCode::SUCCESS),
        Err(error) => {
            eprintln!("grimos: {error}");
            Err(ExitCode::from(
                u8::try_from(error.exit_code()).unwrap_or(EXIT_FAILURE),
            ))
        }
    }
}

fn flow_command(command: FlowCommand) -> Result<ExitCode, ExitCode> {
    let registry = connectors::builtin_registry();
    let runtime = runtime()?;
    runtime.block_on(async {
        match command {
            FlowCommand::Run { file } => {
                let cancel = flow_engine::CancellationToken::new();
                let on_signal = cancel.clone();
                tokio::spawn(async move {
                    if tokio::signal::ctrl_c().await.is_ok() {
                        eprintln!("grimos: cancelling after the batch in flight");
                        on_signal.cancel();
                    }
                });
                let report = flow_engine::run_file_with_cancel(
                    &file,
                    &registry,
                    cli_secret_source(),
                    cancel,
                )
                .await
                .map_err(|error| flow_failure(&error))?;
                println!(
                    "{}: {:?} - read {}, written {}, rejected {} in {:.2} s ({:.0} records/s)",
                    report.flow,
                    report.status,
                    report.read,
                    report.written,
                    report.rejected,
                    report.duration.as_secs_f64(),
                    report.records_per_second
                );
                if report.rejected > 0 {
                    println!(
                        "rejected records and their reasons: {}",
                        report.rejects_path.display()
                    );
                }
                match (report.status, report.error) {
                    (flow_engine::RunStatus::Succeeded, _) => Ok(ExitCode::SUCCESS),
                    (_, Some(error)) => {
                        eprintln!("grimos: {error}");
                        Err(ExitCode::from(EXIT_FAILURE))
                    }
                    (_, None) => Err(ExitCode::from(EXIT_FAILURE)),
                }
            }
            FlowCommand::Validate { file } => {
                let report = flow_engine::validate_file(&file, &registry, cli_secret_source())
                    .await
                    .map_err(|error| flow_failure(&error))?;
                for warning in &report.warnings {
                    println!("warning: {} {}", warning.path, warning.message);
                }
                for error in &report.errors {
                    println!("error: {} {}", error.path, error.message);
                }
                if report.valid {
                    println!("{} is valid", file.display());
                    Ok(ExitCode::SUCCESS)
                } else {
                    Err(ExitCode::from(EXIT_USAGE))
                }
            }
        }
    })
}

fn flow_failure(error: &flow_engine::EngineError) -> ExitCode {
    eprintln!("grimos: {}", error.message());
    match error.kind() {
        flow_engine::EngineErrorKind::InvalidFlow | flow_engine::EngineErrorKind::Mapping => {
            ExitCode::from(EXIT_USAGE)
        }
        _ => ExitCode::from(EXIT_FAILURE),
    }
}

#[cfg(test)]
#[allow(clippy::panic)]
mod tests {
    use clap::CommandFactory as _;

    use super::Cli;

    /// The flags the settings define are exactly the flags `grimos serve` takes (besides
    /// `--config`), so the README's table, generated from the definitions, tells the truth.
    #[test]
    fn serve_flags_are_the_settings_flags() {
        let command = Cli::command();
        let serve = command
            .get_subcommands()
            .find(|subcommand| subcommand.get_name() == "serve");
        let Some(serve) = serve else {
            panic!("no serve command");
        };
        let mut flags: Vec<String> = serve
            .get_arguments()
            .filter_map(|argument| argument.get_long())
            .filter(|long| *long != "config" && *long != "help")
            .map(|long| format!("--{long}"))
            .collect();
        flags.sort();
        let mut defined: Vec<String> = settings::DEFINITIONS
            .iter()
            .filter(|definition| !definition.flag.is_empty())
            .map(|definition| definition.flag.to_owned())
            .collect();
        defined.sort();
        assert_eq!(flags, defined);
    }
}
