//! The `grimos` binary: configuration, first start, logs, shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod process;

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use process::{Server, command};
use serde_json::Value;

const ADMIN_TOKEN: &str = "grm_cli-test-admin-token-abcdefghijklmnopqrstuvwxyz";

#[test]
fn an_invalid_setting_exits_with_code_2_and_one_clear_line() {
    let data_dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 3] = [
        (
            "GRIMOS_LISTEN",
            "not-an-address",
            "invalid setting listen (from GRIMOS_LISTEN)",
        ),
        (
            "GRIMOS_DATABASE_URL",
            "mysql://root:hunter2@localhost/x",
            "invalid setting database_url (from GRIMOS_DATABASE_URL)",
        ),
        (
            "GRIMOS_LOG_FORMAT",
            "xml",
            "invalid setting log_format (from GRIMOS_LOG_FORMAT)",
        ),
    ];
    for (name, value, expected) in cases {
        let output = command(data_dir.path())
            .env(name, value)
            .arg("serve")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{name}");
        let stderr = String::from_utf8(output.stderr).unwrap();
        assert_eq!(stderr.lines().count(), 1, "one line: {stderr}");
        assert!(stderr.contains(expected), "{stderr}");
        assert!(!stderr.contains("hunter2"), "{stderr}");
    }
    let flag = command(data_dir.path())
        .args(["serve", "--listen", "nope"])
        .output()
        .unwrap();
    assert_eq!(flag.status.code(), Some(2));
    assert!(
        String::from_utf8(flag.stderr)
            .unwrap()
            .contains("invalid setting listen (from --listen)")
    );
}

#[test]
fn config_show_prints_effective_values_with_sources_and_redacts_secrets() {
    let data_dir = tempfile::tempdir().unwrap();
    let config = data_dir.path().join("grimos.toml");
    std::fs::write(
        &config,
        "listen = \"127.0.0.1:7001\"\nlog_level = \"debug\"\nrequest_timeout_secs = 12\n",
    )
    .unwrap();
    let output = command(data_dir.path())
        .env("GRIMOS_CONFIG", &config)
        .env("GRIMOS_LISTEN", "127.0.0.1:7002")
        .env(
            "GRIMOS_DATABASE_URL",
            "postgres://grimos:hunter2@db.internal:5432/grimos",
        )
        .env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN)
        .args(["config", "show", "--listen", "127.0.0.1:7003"])
        .output()
        .unwrap();
    assert!(output.status.success());
    let shown = String::from_utf8(output.stdout).unwrap();
    let line_of = |key: &str| {
        shown
            .lines()
            .find(|line| line.starts_with(&format!("{key} =")))
            .unwrap()
            .to_owned()
    };
    assert!(
        line_of("listen").contains("127.0.0.1:7003") && line_of("listen").ends_with("# --listen"),
        "{shown}"
    );
    assert!(
        line_of("log_level").contains("debug") && line_of("log_level").contains("config file"),
        "{shown}"
    );
    assert!(line_of("request_timeout_secs").contains("12"), "{shown}");
    assert!(
        line_of("database_url").contains("postgres://grimos:***@db.internal:5432/grimos"),
        "{shown}"
    );
    assert!(
        line_of("shutdown_grace_secs").ends_with("# default"),
        "{shown}"
    );
    assert!(
        !shown.contains("hunter2") && !shown.contains(ADMIN_TOKEN),
        "{shown}"
    );
}

#[test]
fn migrate_applies_pending_migrations_once() {
    let data_dir = tempfile::tempdir().unwrap();
    let first = command(data_dir.path()).arg("migrate").output().unwrap();
    assert!(
        first.status.success(),
        "{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        String::from_utf8(first.stdout)
            .unwrap()
            .contains("applied 1_identity")
    );
    let second = command(data_dir.path()).arg("migrate").output().unwrap();
    assert!(
        String::from_utf8(second.stdout)
            .unwrap()
            .contains("up to date")
    );
}

#[test]
fn first_start_writes_a_private_admin_token_that_is_never_logged() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start(command(data_dir.path()));
    let token_file = data_dir.path().join("admin.token");
    let token = std::fs::read_to_string(&token_file)
        .unwrap()
        .trim()
        .to_owned();
    assert!(token.starts_with("grm_"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(&token_file).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600, "admin.token must be private");
    }
    let client = reqwest::blocking::Client::new();
    let whoami: Value = client
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(whoami["role"], "admin");
    server.terminate();
    assert_eq!(server.wait_exit(), Some(0));
    let logs = server.drain().join("\n");
    assert!(
        !logs.contains(&token),
        "the admin token appeared in the logs"
    );
    assert!(
        logs.contains("admin.token"),
        "the log says where the token is"
    );

    // A restart keeps the same admin and does not rewrite the file.
    let before = std::fs::read_to_string(&token_file).unwrap();
    let mut again = Server::start(command(data_dir.path()));
    assert_eq!(std::fs::read_to_string(&token_file).unwrap(), before);
    let status = client
        .get(again.url("/api/v1/auth/whoami"))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 200);
    again.terminate();
    assert_eq!(again.wait_exit(), Some(0));
}

#[test]
fn a_supplied_admin_token_is_used_and_no_file_is_written() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start({
        let mut command = command(data_dir.path());
        command.env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN);
        command
    });
    let status = reqwest::blocking::Client::new()
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(ADMIN_TOKEN)
        .send()
        .unwrap()
        .status();
    assert_eq!(status, 200);
    assert!(!data_dir.path().join("admin.token").exists());
    server.terminate();
    server.wait_exit();
    assert!(!server.drain().join("\n").contains(ADMIN_TOKEN));
}

#[test]
fn json_logs_carry_request_and_trace_ids() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start({
        let mut command = command(data_dir.path());
        command.env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN);
        command
    });
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    reqwest::blocking::Client::new()
        .get(server.url("/api/v1/auth/whoami"))
        .bearer_auth(ADMIN_TOKEN)
        .header("x-request-id", "req-abc-123")
        .header("traceparent", format!("00-{trace_id}-b7ad6b7169203331-01"))
        .send()
        .unwrap();
    let line = server.wait_for_line(|line| {
        line["request_id"] == "req-abc-123" && line["message"] == "request completed"
    });
    for field in [
        "timestamp",
        "level",
        "message",
        "target",
        "request_id",
        "trace_id",
        "span_id",
    ] {
        assert!(line[field].is_string(), "log line lacks {field}: {line}");
    }
    assert_eq!(line["trace_id"], trace_id);
    assert_eq!(line["span_id"].as_str().unwrap().len(), 16);
    assert_ne!(line["span_id"], "b7ad6b7169203331");
    assert_eq!(line["status"], 200);
    server.terminate();
    server.wait_exit();
}

#[test]
fn pretty_logs_are_for_humans() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut child = command(data_dir.path())
        .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "pretty"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdout = child.stdout.take().unwrap();
    let mut buffer = [0u8; 512];
    let read = stdout.read(&mut buffer).unwrap();
    let text = String::from_utf8_lossy(&buffer[..read]).to_string();
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        !text.trim_start().starts_with('{'),
        "pretty output is not JSON: {text}"
    );
    assert!(text.contains("INFO"), "{text}");
}

#[test]
fn sigterm_stops_accepting_and_finishes_in_flight_requests() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut server = Server::start({
        let mut command = command(data_dir.path());
        command.env("GRIMOS_ADMIN_TOKEN", ADMIN_TOKEN);
        command
    });
    // Start a request and send only half of its body.
    let body = r#"{"name": "made-during-shutdown", "role": "viewer"}"#;
    let (first_half, second_half) = body.split_at(body.len() / 2);
    let mut stream = TcpStream::connect(&server.address).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .unwrap();
    write!(
        stream,
        "POST /api/v1/tokens HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {ADMIN_TOKEN}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{first_half}",
        server.address,
        body.len()
    )
    .unwrap();
    stream.flush().unwrap();
    std::thread::sleep(Duration::from_millis(300));

    server.terminate();
    server.wait_for_line(|line| line["message"] == "shutting down");
    std::thread::sleep(Duration::from_millis(300));
    // New connections are refused while the in-flight request is still open.
    assert!(
        TcpStream::connect(&server.address).is_err(),
        "still accepting after SIGTERM"
    );

    stream.write_all(second_half.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(
        response.starts_with("HTTP/1.1 201"),
        "in-flight request was not finished: {response}"
    );
    assert!(response.contains("\"token\":\"grm_"));
    assert_eq!(server.wait_exit(), Some(0));
}

#[test]
fn secrets_commands_store_list_and_rotate_without_printing_values() {
    let data_dir = tempfile::tempdir().unwrap();
    let value = "s3cr3t-from-stdin-7c2d";
    let mut set = command(data_dir.path())
        .args(["secrets", "set", "erp/password"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    set.stdin
        .take()
        .unwrap()
        .write_all(format!("{value}\n").as_bytes())
        .unwrap();
    let set = set.wait_with_output().unwrap();
    assert!(
        set.status.success(),
        "{}",
        String::from_utf8_lossy(&set.stderr)
    );
    assert!(
        String::from_utf8(set.stdout)
            .unwrap()
            .contains("stored local:erp/password (version 1")
    );

    let list = command(data_dir.path())
        .args(["secrets", "list"])
        .output()
        .unwrap();
    let listed = String::from_utf8(list.stdout).unwrap();
    assert!(listed.contains("erp/password"), "{listed}");
    assert!(!listed.contains(value));

    let rotate = command(data_dir.path())
        .args(["secrets", "rotate-key"])
        .output()
        .unwrap();
    assert!(rotate.status.success());
    assert!(
        String::from_utf8(rotate.stdout)
            .unwrap()
            .contains("1 secrets rewrapped")
    );

    let bad_name = command(data_dir.path())
        .args(["secrets", "set", "bad name!"])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    assert_eq!(bad_name.status.code(), Some(2));

    for entry in std::fs::read_dir(data_dir.path()).unwrap().flatten() {
        if entry.path().is_file() {
            let bytes = std::fs::read(entry.path()).unwrap();
            assert!(
                !bytes
                    .windows(value.len())
                    .any(|window| window == value.as_bytes()),
                "{} holds the value",
                entry.path().display()
            );
        }
    }
}

#[test]
fn connector_commands_print_specs_and_refuse_bad_configs_with_code_2() {
    let data_dir = tempfile::tempdir().unwrap();
    let spec = command(data_dir.path())
        .args(["connector", "spec", "--type", "sql"])
        .output()
        .unwrap();
    assert!(spec.status.success());
    let schema: Value = serde_json::from_slice(&spec.stdout).unwrap();
    assert_eq!(schema["properties"]["password"]["x-secret"], true);

    let unknown = command(data_dir.path())
        .args(["connector", "spec", "--type", "ftp"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));

    let config = data_dir.path().join("bad.yaml");
    std::fs::write(&config, "type: rest\nbase_url: 42\nstreams: []\n").unwrap();
    let check = command(data_dir.path())
        .args(["connector", "check", "--config", config.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(check.status.code(), Some(2));
    let stderr = String::from_utf8(check.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("bad.yaml") && stderr.contains("base_url"),
        "{stderr}"
    );
}

#[test]
fn flow_files_run_and_validate_without_a_server() {
    let dir = tempfile::tempdir().unwrap();
    let source_db = dir.path().join("source.db");
    let target_db = dir.path().join("target.db");
    for (path, sql) in [
        (
            &source_db,
            "CREATE TABLE people (id INTEGER PRIMARY KEY, email TEXT NOT NULL); INSERT INTO people VALUES (1, ' Ada@Example.com'), (2, 'bob@example.com'), (3, 'not-an-email');",
        ),
        (
            &target_db,
            "CREATE TABLE contacts (id INTEGER PRIMARY KEY, email TEXT NOT NULL CHECK (email LIKE '%@%'));",
        ),
    ] {
        let status = std::process::Command::new("python3")
            .args(["-c", "import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()"])
            .arg(path)
            .arg(sql)
            .status()
            .unwrap();
        assert!(status.success());
    }
    std::fs::write(
        dir.path().join("source.yaml"),
        format!(
            "type: sql\nurl: \"sqlite://{}\"\nstreams:\n  - {{ name: people, table: people }}\n",
            source_db.display()
        ),
    )
    .unwrap();
    std::fs::write(dir.path().join("target.yaml"), format!("type: sql\nurl: \"sqlite://{}\"\nstreams:\n  - {{ name: contacts, table: contacts }}\n", target_db.display())).unwrap();
    let flow = dir.path().join("people.yaml");
    std::fs::write(
        &flow,
        "name: people-to-contacts\nsource: { connector: source.yaml, stream: people }\ntarget: { connector: target.yaml, stream: contacts, mode: upsert }\nmapping:\n  rules:\n    - { target: id, source: id, cast: int }\n    - { target: email, source: email, transform: [trim, lower] }\n",
    )
    .unwrap();

    let validate = command(dir.path())
        .args(["flow", "validate"])
        .arg(&flow)
        .output()
        .unwrap();
    assert!(
        validate.status.success(),
        "{}{}",
        String::from_utf8_lossy(&validate.stdout),
        String::from_utf8_lossy(&validate.stderr)
    );

    let run = command(dir.path())
        .args(["flow", "run"])
        .arg(&flow)
        .output()
        .unwrap();
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(
        run.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("read 3, written 2, rejected 1"), "{stdout}");
    assert!(stdout.contains("records/s"), "{stdout}");
    let rejects = std::fs::read_to_string(dir.path().join("people.rejects.jsonl")).unwrap();
    assert!(
        rejects.contains("not-an-email"),
        "the rejected record is kept with its reason: {rejects}"
    );

    let broken = dir.path().join("broken.yaml");
    std::fs::write(&broken, "name: x\nsource: { connector: source.yaml, stream: people }\ntarget: { connector: target.yaml, stream: contacts }\nmapping:\n  rules:\n    - { target: id, source: id, cast: integer-ish }\n").unwrap();
    let invalid = command(dir.path())
        .args(["flow", "validate"])
        .arg(&broken)
        .output()
        .unwrap();
    assert_eq!(invalid.status.code(), Some(2));
    assert!(
        String::from_utf8(invalid.stdout)
            .unwrap()
            .contains("/mapping/rules/0"),
        "errors name the rule"
    );
}
